// Build dist/ with esbuild: one ESM file per command (oclif finds them at dist/commands/**), shared code in
// dist/chunks/. Pure-JS libraries on every start-up path (kysely: ~250 ESM files; zod) are bundled into the chunks,
// which cuts start-up CPU by a third; every other package stays external and is still loaded lazily with import().
// Type-checking is tsc's job (npm run typecheck / the build script runs it first).
import { build } from 'esbuild'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const BUNDLED = new Set(['kysely', 'zod'])
function entries(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? entries(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : []
  })
}
await build({
  entryPoints: [...entries('commands'), 'src/version.ts', 'src/index.ts'].filter((p) => statSync(p, { throwIfNoEntry: false })),
  outdir: 'dist',
  outbase: '.',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node18.19',
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: false,
  logLevel: 'warning',
  plugins: [
    {
      name: 'externals',
      setup(b) {
        // bare package imports are external unless listed in BUNDLED; relative imports are bundled
        b.onResolve({ filter: /^[^./]/ }, (args) => {
          const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0]
          return BUNDLED.has(name) ? undefined : { path: args.path, external: true }
        })
      },
    },
  ],
})
