/**
 * Benchmark: `dify upgrade-db`.
 *  1. Fresh PostgreSQL database → head, whole process, next to `psql` loading Dify's own offline SQL for the same
 *     schema (the oracle cut at the head) into another fresh database, interleaved in the same run. Target < 3×.
 *  2. Already at head (no-op), whole process. Target < 1 s. `node -e 0` and `dify --version` for reference.
 * Run: `npx tsc -p tsconfig.build.json && npx oclif manifest && npx vite-node bench/db-upgrade.ts` (RUNS=5, NOOP_RUNS=10).
 */
import { spawnSync } from 'node:child_process'
import { BIN } from '../test/support/cli.js'
import { scratchPg, scratchRedis, type Scratch } from '../test/support/scratch.js'
import { oracleSqlAt } from '../test/support/dify-schema.js'
import { PG } from '../test/support/services.js'
import { REVISION_LIST } from '../src/migrations/registry.js'

const RUNS = Number(process.env.RUNS ?? 5)
const NOOP_RUNS = Number(process.env.NOOP_RUNS ?? 10)
const head = REVISION_LIST.at(-1)!.revision

function time(cmd: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): number {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env }, input: opts.input ?? '', stdio: ['pipe', 'pipe', 'pipe'] })
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return ms
}
/** CPU seconds (user + sys) of one run, through /usr/bin/time: less distorted than wall time on a loaded machine */
function cpu(args: string[], env: Record<string, string>): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  const [u, sy] = r.stderr.toString().trim().split('\n').at(-1)!.split(' ').map(Number)
  return (u! + sy!) * 1000
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`

const redis = await scratchRedis('bench')
const dbs: Scratch[] = []
try {
  const oracle = oracleSqlAt(head)
  const ours: number[] = []
  const psql: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const a = await scratchPg('benchours')
    const b = await scratchPg('benchpsql')
    dbs.push(a, b)
    ours.push(time(process.execPath, [BIN, 'upgrade-db', '--json'], { env: { ...a.env, ...redis.env } }))
    psql.push(time('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', b.name], { input: oracle }))
  }
  const noop: number[] = []
  const node0: number[] = []
  const version: number[] = []
  const at = dbs[0]!
  for (let i = 0; i < NOOP_RUNS; i++) {
    noop.push(time(process.execPath, [BIN, 'upgrade-db'], { env: { ...at.env, ...redis.env } }))
    node0.push(time(process.execPath, ['-e', '0']))
    version.push(time(process.execPath, [BIN, '--version']))
  }
  const noopCpu = Array.from({ length: 3 }, () => cpu([BIN, 'upgrade-db'], { ...at.env, ...redis.env }))
  const load = (await import('node:os')).loadavg()[0]!.toFixed(1)
  console.log(`dify upgrade-db benchmark (head ${head}, ${REVISION_LIST.length} revisions; load average ${load})`)
  console.log(`fresh → head, dify upgrade-db (whole process): median ${s(median(ours))}  [${ours.map(s).join(', ')}]`)
  console.log(`fresh → head, psql < Dify's offline SQL:        median ${s(median(psql))}  [${psql.map(s).join(', ')}]`)
  console.log(`ratio: ${(median(ours) / median(psql)).toFixed(2)}× (target < 3×)`)
  console.log(`no-op at head, dify upgrade-db (whole process): median ${s(median(noop))}, min ${s(Math.min(...noop))} (target < 1 s)`)
  console.log(`no-op at head, CPU time (user+sys): median ${s(median(noopCpu))}`)
  console.log(`reference: node -e 0 median ${s(median(node0))}; dify --version median ${s(median(version))}`)
} finally {
  for (const d of dbs) await d.drop().catch(() => {})
  await redis.drop()
}
