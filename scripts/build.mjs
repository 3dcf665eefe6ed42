// Build dist/ with esbuild: one ESM file per command (oclif finds them at dist/commands/**), shared code in
// dist/chunks/. Pure-JS libraries on every start-up path (kysely: ~250 ESM files; zod; the pg and ioredis drivers
// with their own dependencies) are bundled into the chunks, which cuts start-up CPU by a third; every other package
// stays external and is still loaded lazily with import().
// Type-checking is tsc's job (npm run typecheck / the build script runs it first).
import { build, transform } from 'esbuild'
import { createRequire } from 'node:module'
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { compareCommandIds } from './compare-command-ids.mjs'

const BUNDLED = new Set(['kysely', 'zod', 'ioredis', 'pg', '@oclif/core'])
// optional native or never-used modules that bundled packages require inside try/catch: left to fail at run time
const NEVER_BUNDLED = new Set(['pg-native', 'typescript'])
// required by @oclif/core when it loads, needed later or never: loaded on first use (plugin lazy-oclif-deps)
const LAZY_FOR_OCLIF = new Set([
  'tinyglobby',
  'minimatch',
  'semver',
  'ejs',
  'cli-spinners',
  'wrap-ansi',
  'string-width',
  'widest-line',
])
function entries(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? entries(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : []
  })
}
const result = await build({
  entryPoints: [...entries('commands'), 'src/version.ts', 'src/cli/main.ts', 'src/cli/not-found.ts'],
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
  // DIFY_BUILD_METAFILE=/tmp/meta.json: what each output file holds (esbuild's metafile), for start-up work
  metafile: Boolean(process.env.DIFY_BUILD_METAFILE),
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
      // src/migrations/baseline/schema.ts (generated, 87 KB of object literals: the fresh-database baseline) is on the
      // static path of every upgrade-db and db command: V8 parses and runs it at each start. The bundle gets the same
      // value as one JSON.parse of a string (much cheaper to compile and build); the build fails if the module exports
      // anything else or a value JSON cannot carry.
      name: 'baseline-as-json',
      setup(b) {
        b.onLoad({ filter: /src[\\/]migrations[\\/]baseline[\\/]schema\.ts$/ }, async (args) => {
          const { code } = await transform(readFileSync(args.path, 'utf8'), { loader: 'ts', format: 'esm' })
          const mod = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)
          const names = Object.keys(mod).sort().join(',')
          const json = JSON.stringify(mod.BASELINE_SCHEMA)
          if (
            names !== 'BASELINE_REVISION,BASELINE_SCHEMA' ||
            !isDeepStrictEqual(JSON.parse(json), mod.BASELINE_SCHEMA)
          )
            throw new Error(
              `${args.path} changed shape (exports: ${names}); review the baseline-as-json plugin in scripts/build.mjs`,
            )
          return {
            contents: `export const BASELINE_REVISION = ${JSON.stringify(mod.BASELINE_REVISION)}\nexport const BASELINE_SCHEMA = JSON.parse(${JSON.stringify(json)})\n`,
            loader: 'js',
          }
        })
      },
    },
    {
      // @oclif/core sorts each plugin's commands with localeCompare when it loads them: the first localeCompare of a
      // process builds ICU's collator, ~10 ms of every start-up. scripts/compare-command-ids.mjs gives the same order
      // without ICU where it can (and calls localeCompare where it cannot); the help's own listing sorts again anyway.
      name: 'oclif-sort-without-icu',
      setup(b) {
        b.onLoad({ filter: /node_modules[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/ }, (args) => {
          const src = readFileSync(args.path, 'utf8')
          const sort = '.sort((a, b) => a.id.localeCompare(b.id))'
          if (src.split(sort).length !== 2)
            throw new Error(
              `@oclif/core/lib/config/plugin.js changed: "${sort}" not found once; review scripts/build.mjs`,
            )
          return {
            contents: `${src.replace(sort, '.sort((a, b) => compareCommandIds(a.id, b.id))')}\n${compareCommandIds}\n`,
            loader: 'js',
          }
        })
      },
    },
    {
      // @oclif/core requires these when it loads but uses them later, rarely or never in a run (tinyglobby: command
      // discovery without a manifest; semver: an engine check that cannot find its package.json inside the bundle;
      // minimatch: matching `oclif.plugins`, which names plugins literally; ejs: help templates; cli-spinners: ux.action;
      // wrap-ansi, string-width, widest-line: help and error layout). Each becomes a proxy that requires the package
      // from node_modules on first use, resolved as @oclif/core itself resolves it, so it is not even compiled at start.
      // What the proxy answers before loading is taken from the real package at build time: callable or not, and
      // `__esModule` (read by __importDefault when @oclif/core loads). minimatch answers a pattern without glob
      // characters by string equality, as minimatch itself would.
      name: 'lazy-oclif-deps',
      setup(b) {
        const oclifRequire = createRequire(createRequire(import.meta.url).resolve('@oclif/core'))
        b.onResolve({ filter: new RegExp(`^(${[...LAZY_FOR_OCLIF].join('|')})$`) }, (args) =>
          /[\\/]@oclif[\\/]core[\\/]/.test(args.importer)
            ? { path: args.path, namespace: 'lazy', pluginData: { resolveDir: args.resolveDir } }
            : undefined,
        )
        b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => {
          const real = oclifRequire(args.path)
          const esModule = JSON.stringify(real.__esModule) ?? 'undefined'
          const callable = typeof real === 'function'
          const load = `let m; const load = () => (m ??= require('node:module').createRequire(require.resolve('@oclif/core'))(${JSON.stringify(args.path)}));`
          const literal =
            args.path === 'minimatch'
              ? `const literal = (p) => typeof p === 'string' && !/[*?[\\]{}()!+@]/.test(p.replace(/^@[\\w.-]+\\//, ''));
                 const minimatch = (p, pattern, o) => (o === undefined && literal(pattern) ? p === pattern : load().minimatch(p, pattern, o));`
              : ''
          const get = `(_, k) => (k === '__esModule' ? ${esModule} : ${args.path === 'minimatch' ? `k === 'minimatch' ? minimatch : ` : ''}load()[k])`
          const traps = [
            `get: ${get}`,
            'has: (_, k) => k in load()',
            'ownKeys: () => Reflect.ownKeys(load())',
            'getOwnPropertyDescriptor: (_, k) => { const d = Object.getOwnPropertyDescriptor(load(), k); return d && { ...d, configurable: true } }',
            ...(callable ? ['apply: (_, self, a) => Reflect.apply(load(), self, a)'] : []),
          ]
          return {
            contents: `${load}${literal}module.exports = new Proxy(${callable ? '() => {}' : '{}'}, { ${traps.join(', ')} });`,
            resolveDir: args.pluginData.resolveDir,
            loader: 'js',
          }
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
if (process.env.DIFY_BUILD_METAFILE) writeFileSync(process.env.DIFY_BUILD_METAFILE, JSON.stringify(result.metafile))
