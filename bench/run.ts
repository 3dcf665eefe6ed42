// Runs one benchmark by name, or all of them: npm run bench [-- <name> …]  (names = files in bench/ without .ts)
import { readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('.', import.meta.url))
// helpers shared by benchmarks: run.ts, lib.ts, *-lib.ts, *-fixtures.ts
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'lib.ts'].includes(f) && !/-(lib|fixtures)\.ts$/.test(f))
  .map((f) => f.slice(0, -3))
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : all
for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`no benchmark ${name}; known: ${all.join(', ')}`)
    process.exit(2)
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${dir}${name}.ts`], { stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
