/**
 * Benchmark: `dify upgrade-db` from Dify 1.0.0 (08ec4f75af5e) to the CLI's head on PostgreSQL, whole process, next
 * to `psql` applying Dify's own SQL for the same range (1.15.0's files in Alembic offline mode, cut from 1.0.0's head
 * to the same target) on another copy of the same 1.0.0 database, interleaved in the same run. Target ≤ 1.5×.
 * Loading the 1.0.0 schema is not timed. Dify's offline SQL skips its two data steps (e8446f481c1e, 0e154742a5fa);
 * the databases are empty, so ours have nothing to move either.
 * Run: `npm run build && npx vite-node bench/db-upgrade-1.0.ts` (RUNS=5).
 */
import { spawnSync } from 'node:child_process'
import { BIN } from '../test/support/cli.js'
import { scratchPg, scratchRedis, type Scratch } from '../test/support/scratch.js'
import { loadRelease } from '../test/support/oracles.js'
import { chainSqlBetween } from './oracle-sql.js'
import { PG } from '../test/support/services.js'
import { REVISION_LIST, STEPS_FROM } from '../src/migrations/registry.js'

const RUNS = Number(process.env.RUNS ?? 5)
const head = REVISION_LIST.at(-1)!.revision

function time(cmd: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): number {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    input: opts.input ?? '',
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return ms
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`

const redis = await scratchRedis('bench10')
const dbs: Scratch[] = []
try {
  const difySql = chainSqlBetween('postgres', STEPS_FROM, head)
  const ours: number[] = []
  const psql: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const a = await scratchPg('bench10ours')
    const b = await scratchPg('bench10psql')
    dbs.push(a, b)
    await loadRelease(a, 'postgres', '1.0.0')
    await loadRelease(b, 'postgres', '1.0.0')
    ours.push(time(process.execPath, [BIN, 'upgrade-db', '--to', head, '--json'], { env: { ...a.env, ...redis.env } }))
    psql.push(
      time('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', b.name], {
        input: difySql,
      }),
    )
    await a.drop().catch(() => {})
    await b.drop().catch(() => {})
  }
  const n = REVISION_LIST.findIndex((r) => r.revision === head) + 1
  const load = (await import('node:os')).loadavg()[0]!.toFixed(1)
  console.log(`dify upgrade-db 1.0.0 → ${head} (${n} revisions; load average ${load})`)
  console.log(`dify upgrade-db (whole process): median ${s(median(ours))}  [${ours.map(s).join(', ')}]`)
  console.log(`psql < Dify's offline SQL:       median ${s(median(psql))}  [${psql.map(s).join(', ')}]`)
  console.log(`ratio: ${(median(ours) / median(psql)).toFixed(2)}× (target ≤ 1.5×)`)
} finally {
  for (const d of dbs) await d.drop().catch(() => {})
  await redis.drop()
}
