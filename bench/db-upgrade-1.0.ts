/**
 * Benchmark: `dify upgrade-db` from Dify 1.0.0 (08ec4f75af5e) to the CLI's head on PostgreSQL, whole process, next
 * to `psql` applying Dify's own SQL for the same range (1.15.0's files in Alembic offline mode, cut from 1.0.0's head
 * to the same target) on another copy of the same 1.0.0 database, interleaved in the same run. Target ≤ 1.5×.
 * Loading the 1.0.0 schema is not timed. Dify's offline SQL skips its two data steps (e8446f481c1e, 0e154742a5fa);
 * the databases are empty, so ours have nothing to move either.
 * Run: `npm run build && npm run bench -- db-upgrade-1.0` (RUNS=5).
 */
import { scratchPg, scratchRedis, type Scratch } from '../test/support/scratch.js'
import { loadRelease } from '../test/support/oracles.js'
import { chainSqlBetween } from './oracle-sql.js'
import { REVISION_LIST, STEPS_FROM } from '../src/migrations/registry.js'
import { dify, loadAverage, median, psqlFloor, s } from './db-upgrade-lib.js'

const RUNS = Number(process.env.RUNS ?? 5)
const head = REVISION_LIST.at(-1)!.revision

const redis = await scratchRedis('bench10')
const dbs: Scratch[] = []
try {
  const difySql = chainSqlBetween('postgres', STEPS_FROM, head)
  // the 1.0.0 schema once, copied per run (not timed)
  const template = await scratchPg('bench10tpl')
  dbs.push(template)
  await loadRelease(template, 'postgres', '1.0.0')
  const ours: number[] = []
  const oursCpu: number[] = []
  const psql: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const a = await scratchPg('bench10ours', { template: template.name })
    const b = await scratchPg('bench10psql', { template: template.name })
    const r = dify(['upgrade-db', '--to', head, '--json'], { ...a.env, ...redis.env })
    ours.push(r.wallMs)
    oursCpu.push(r.cpuMs)
    psql.push(psqlFloor(b.name, difySql))
    await a.drop().catch(() => {})
    await b.drop().catch(() => {})
  }
  const n = REVISION_LIST.findIndex((r) => r.revision === head) + 1
  console.log(`dify upgrade-db 1.0.0 → ${head} (${n} revisions; load average ${await loadAverage()})`)
  console.log(
    `dify upgrade-db (whole process): median ${s(median(ours))}, CPU ${s(median(oursCpu))}  [${ours.map(s).join(', ')}]`,
  )
  console.log(`psql < Dify's offline SQL:       median ${s(median(psql))}  [${psql.map(s).join(', ')}]`)
  console.log(`ratio: ${(median(ours) / median(psql)).toFixed(2)}× (target ≤ 1.5×)`)
} finally {
  for (const d of dbs) await d.drop().catch(() => {})
  await redis.drop()
}
