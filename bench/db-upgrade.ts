/**
 * Benchmark: `dify upgrade-db`.
 *  1. Fresh PostgreSQL database → head, whole process, next to `psql` loading Dify's own offline SQL for the same
 *     schema (the oracle cut at the head) into another fresh database, interleaved in the same run. Target < 3×.
 *  2. Already at head (no-op), whole process. Target < 1 s. `node -e 0` and `dify --version` for reference.
 *  3. A Dify 1.11.0 database (the release's own SQL, loaded once into a template) → 1.15.0: `dify upgrade-db`
 *     next to `psql` applying Dify's own SQL for the same range (the tail of 1.15.0's whole-chain offline SQL after
 *     1.11.0's head), each on its own copy of the template, interleaved. Target ≤ 1.5×. This dev tool reads that
 *     SQL from ../shared/oracles directly (tests use test/support/oracles.ts, which keeps that part private).
 * Run: `npx tsc -p tsconfig.build.json && npx oclif manifest && npx vite-node bench/db-upgrade.ts` (RUNS=5, NOOP_RUNS=10).
 */
import { spawnSync } from 'node:child_process'
import { BIN } from '../test/support/cli.js'
import { scratchPg, scratchRedis, type Scratch } from '../test/support/scratch.js'
import { oracleSqlAt } from './oracle-sql.js'
import { PG } from '../test/support/services.js'
import { REVISION_LIST } from '../src/migrations/registry.js'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadRelease } from '../test/support/oracles.js'

const WHOLE_CHAIN_1_15_0 = fileURLToPath(
  new URL('../../shared/oracles/pg-offline-alembic-base-to-d9e8f7a6b5c4-dify-1.15.0.sql', import.meta.url),
)
/** Dify's own SQL from just after `from`'s version line to the end of 1.15.0's chain (what Dify runs from there) */
function difyTailAfter(from: string): string {
  const lines = readFileSync(WHOLE_CHAIN_1_15_0, 'utf8').split('\n')
  const i = lines.findIndex(
    (l) =>
      l.startsWith(`UPDATE alembic_version SET version_num='${from}'`) ||
      l.startsWith(`INSERT INTO alembic_version (version_num) VALUES ('${from}')`),
  )
  if (i < 0) throw new Error(`${from} not in the 1.15.0 chain`)
  return 'BEGIN;\n' + lines.slice(i + 1).join('\n') + '\n'
}
const UPGRADE_RUNS = Number(process.env.UPGRADE_RUNS ?? process.env.RUNS ?? 5)

const RUNS = Number(process.env.RUNS ?? 5)
const NOOP_RUNS = Number(process.env.NOOP_RUNS ?? 10)
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
/** CPU seconds (user + sys) of one run, through /usr/bin/time: less distorted than wall time on a loaded machine */
function cpu(args: string[], env: Record<string, string>): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
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
    psql.push(
      time('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', b.name], {
        input: oracle,
      }),
    )
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
  // 3. Dify 1.11.0 → 1.15.0
  const template = await scratchPg('bench1110')
  dbs.push(template)
  await loadRelease(template, 'postgres', '1.11.0')
  const tail = difyTailAfter('d57accd375ae')
  const up: number[] = []
  const upPsql: number[] = []
  for (let i = 0; i < UPGRADE_RUNS; i++) {
    const a = await scratchPg('bench1110ours', { template: template.name })
    const b = await scratchPg('bench1110psql', { template: template.name })
    dbs.push(a, b)
    up.push(time(process.execPath, [BIN, 'upgrade-db', '--json'], { env: { ...a.env, ...redis.env } }))
    upPsql.push(
      time('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', b.name], {
        input: tail,
      }),
    )
  }
  const noopCpu = Array.from({ length: 3 }, () => cpu([BIN, 'upgrade-db'], { ...at.env, ...redis.env }))
  const load = (await import('node:os')).loadavg()[0]!.toFixed(1)
  console.log(`dify upgrade-db benchmark (head ${head}, ${REVISION_LIST.length} revisions; load average ${load})`)
  console.log(`fresh → head, dify upgrade-db (whole process): median ${s(median(ours))}  [${ours.map(s).join(', ')}]`)
  console.log(`fresh → head, psql < Dify's offline SQL:        median ${s(median(psql))}  [${psql.map(s).join(', ')}]`)
  console.log(`ratio: ${(median(ours) / median(psql)).toFixed(2)}× (target < 3×)`)
  console.log(
    `Dify 1.11.0 → 1.15.0, dify upgrade-db (whole process): median ${s(median(up))}  [${up.map(s).join(', ')}]`,
  )
  console.log(
    `Dify 1.11.0 → 1.15.0, psql < Dify's own SQL for the range: median ${s(median(upPsql))}  [${upPsql.map(s).join(', ')}]`,
  )
  console.log(`ratio: ${(median(up) / median(upPsql)).toFixed(2)}× (target ≤ 1.5×)`)
  console.log(
    `no-op at head, dify upgrade-db (whole process): median ${s(median(noop))}, min ${s(Math.min(...noop))} (target < 1 s)`,
  )
  console.log(`no-op at head, CPU time (user+sys): median ${s(median(noopCpu))}`)
  console.log(`reference: node -e 0 median ${s(median(node0))}; dify --version median ${s(median(version))}`)
} finally {
  for (const d of dbs) await d.drop().catch(() => {})
  await redis.drop()
}
