// Build dist/ with esbuild: one ESM file per command (oclif finds them at dist/commands/**), shared code in
// dist/chunks/. Pure-JS libraries on every start-up path (kysely: ~250 ESM files; zod; the pg and ioredis drivers
// with their own dependencies) are bundled into the chunks, which cuts start-up CPU by a third; every other package
// stays external and is still loaded lazily with import().
// Type-checking is tsc's job (npm run typecheck / the build script runs it first).
import { build } from 'esbuild'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const BUNDLED = new Set(['kysely', 'zod', 'ioredis', 'pg', '@oclif/core'])
// optional native or never-used modules that bundled packages require inside try/catch: left to fail at run time
const NEVER_BUNDLED = new Set(['pg-native', 'typescript'])
function entries(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? entries(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : []
  })
}
await build({
  entryPoints: [...entries('commands'), 'src/version.ts', 'src/cli/main.ts'],
  outdir: 'dist',
  outbase: '.',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node18.19',
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: false,
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // bundled CommonJS packages call require() for Node's built-ins; ESM has no require, so give each file one
  banner: {
    js: "import { createRequire as __difyOpsCreateRequire } from 'node:module'; const require = __difyOpsCreateRequire(import.meta.url);",
  },
  plugins: [
    {
      // pg asks "is this a Cloudflare Worker?" by constructing a fetch Response when `navigator` is missing (Node 18
      // and 20), which loads Node's whole undici/http2/zlib stack (~20 ms) on every start. We never run in a Worker.
      name: 'pg-not-cloudflare',
      setup(b) {
        b.onLoad({ filter: /node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => {
          const src = readFileSync(args.path, 'utf8')
          const probe = "typeof Response === 'function'"
          if (!src.includes(probe))
            throw new Error(`pg/lib/stream.js changed: "${probe}" not found; review scripts/build.mjs`)
          return { contents: src.replace(probe, 'false'), loader: 'js' }
        })
      },
    },
    {
      name: 'externals',
      setup(b) {
        // bare package imports are external unless listed in BUNDLED; relative imports are bundled
        b.onResolve({ filter: /^[^./]/ }, (args) => {
          const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0]
          if (NEVER_BUNDLED.has(name) || args.path.startsWith('node:')) return { path: args.path, external: true }
          // a bundled package's own dependencies are bundled with it
          const fromBundled = args.importer.includes('/node_modules/')
          return BUNDLED.has(name) || fromBundled ? undefined : { path: args.path, external: true }
        })
      },
    },
  ],
})
