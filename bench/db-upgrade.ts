/**
 * Benchmark: `dify upgrade-db`.
 *  1. Fresh PostgreSQL database → head, whole process, next to `psql` loading Dify's own offline SQL for the same
 *     schema (the oracle cut at the head) into another fresh database, interleaved in the same run. Target < 3×.
 *  2. Already at head (no-op), whole process. Target < 1 s. `node -e 0` and `dify --version` for reference.
 *  3. A Dify 1.11.0 database (the release's own SQL, loaded once into a template) → 1.15.0: `dify upgrade-db`
 *     next to `psql` applying Dify's own SQL for the same range (1.15.0's whole-chain offline SQL from 1.11.0's head
 *     `d57accd375ae` to the CLI's head), each on its own copy of the template, interleaved. Target ≤ 1.5×. This dev
 *     tool reads that SQL from the reference data set's oracles directly (bench/oracle-sql.ts: DIFY_OPS_REFERENCE,
 *     else the folder beside the repository; tests use test/support/oracles.ts). Beside them, on copies of the same
 *     template, two floors (bench/floor/upgrade-db.ts): the protocol floor (upgrade-db's sessions, locks, catalog
 *     statement and DDL, nothing else) and the bare floor (Node, pg, one session and the DDL: psql's work, in Node).
 * The CLI's CPU time (user + sys) is reported next to its wall time: on the shared machine it moves less with load.
 * Run: `npm run build && npm run bench -- db-upgrade` (RUNS=5, NOOP_RUNS=10, UPGRADE_RUNS=RUNS; BENCH_NODE=path runs
 * the CLI under another Node, e.g. 22, which dify-api ships from 1.11.3; BENCH_BEFORE=/older/build/bin/run.js times that
 * build too in part 3, interleaved).
 */
import { BIN } from '../test/support/cli.js'
import { scratchPg, scratchRedis, type Scratch } from '../test/support/scratch.js'
import { chainSqlBetween, oracleSqlAt } from './oracle-sql.js'
import { REVISION_LIST } from '../src/migrations/registry.js'
import { loadRelease } from '../test/support/oracles.js'
import {
  BEFORE,
  CLI_NODE,
  dify,
  floorGroups,
  loadAverage,
  median,
  protocolFloor,
  psqlFloor,
  s,
  time,
} from './db-upgrade-lib.js'
import { PG_CATALOG_SQL } from '../src/migrations/schema/introspect.js'

const RUNS = Number(process.env.RUNS ?? 5)
const UPGRADE_RUNS = Number(process.env.UPGRADE_RUNS ?? RUNS)
const NOOP_RUNS = Number(process.env.NOOP_RUNS ?? 10)
const head = REVISION_LIST.at(-1)!.revision
/** Dify 1.11.0's head */
const FROM_1_11_0 = 'd57accd375ae'

const redis = await scratchRedis('bench')
const dbs: Scratch[] = []
try {
  const oracle = oracleSqlAt(head)
  const ours: number[] = []
  const oursCpu: number[] = []
  const psql: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const a = await scratchPg('benchours')
    const b = await scratchPg('benchpsql')
    dbs.push(a, b)
    const r = dify(['upgrade-db', '--json'], { ...a.env, ...redis.env })
    ours.push(r.wallMs)
    oursCpu.push(r.cpuMs)
    psql.push(psqlFloor(b.name, oracle))
  }
  const noop: number[] = []
  const noopCpu: number[] = []
  const node0: number[] = []
  const version: number[] = []
  const at = dbs[0]!
  for (let i = 0; i < NOOP_RUNS; i++) {
    const r = dify(['upgrade-db'], { ...at.env, ...redis.env })
    noop.push(r.wallMs)
    noopCpu.push(r.cpuMs)
    node0.push(time(CLI_NODE, ['-e', '0']))
    version.push(time(CLI_NODE, [BIN, '--version']))
  }
  // 3. Dify 1.11.0 → 1.15.0
  const template = await scratchPg('bench1110')
  dbs.push(template)
  await loadRelease(template, 'postgres', '1.11.0')
  const tail = chainSqlBetween('postgres', FROM_1_11_0, head)
  const up: number[] = []
  const upCpu: number[] = []
  const upPsql: number[] = []
  const upBefore: number[] = []
  const upBeforeCpu: number[] = []
  const upFloor: number[] = []
  const upFloorCpu: number[] = []
  const upBare: number[] = []
  const upBareCpu: number[] = []
  const groups = floorGroups(tail)
  const floorJob = (database: string) => ({
    database,
    redis: {
      host: redis.env.REDIS_HOST!,
      port: Number(redis.env.REDIS_PORT),
      db: Number(redis.env.REDIS_DB),
      lockKey: `${redis.prefix}db_upgrade_lock`,
      auditKey: `${redis.prefix}dify_ops:audit`,
    },
    from: FROM_1_11_0,
    to: head,
    catalogSql: PG_CATALOG_SQL,
    groups,
  })
  for (let i = 0; i < UPGRADE_RUNS; i++) {
    const a = await scratchPg('bench1110ours', { template: template.name })
    const b = await scratchPg('bench1110psql', { template: template.name })
    dbs.push(a, b)
    const r = dify(['upgrade-db', '--json'], { ...a.env, ...redis.env })
    up.push(r.wallMs)
    upCpu.push(r.cpuMs)
    upPsql.push(psqlFloor(b.name, tail))
    const f = await scratchPg('bench1110floor', { template: template.name })
    dbs.push(f)
    const rf = await protocolFloor(floorJob(f.name))
    upFloor.push(rf.wallMs)
    upFloorCpu.push(rf.cpuMs)
    const g = await scratchPg('bench1110bare', { template: template.name })
    dbs.push(g)
    const rg = await protocolFloor({ ...floorJob(g.name), bare: true })
    upBare.push(rg.wallMs)
    upBareCpu.push(rg.cpuMs)
    if (BEFORE) {
      const c = await scratchPg('bench1110before', { template: template.name })
      dbs.push(c)
      const rb = dify(['upgrade-db', '--json'], { ...c.env, ...redis.env }, BEFORE)
      upBefore.push(rb.wallMs)
      upBeforeCpu.push(rb.cpuMs)
    }
  }
  console.log(
    `dify upgrade-db benchmark (head ${head}, ${REVISION_LIST.length} revisions; CLI on Node ${CLI_NODE === process.execPath ? process.version : CLI_NODE}; load average ${await loadAverage()})`,
  )
  console.log(
    `fresh → head, dify upgrade-db (whole process): median ${s(median(ours))}, CPU ${s(median(oursCpu))}  [${ours.map(s).join(', ')}]`,
  )
  console.log(`fresh → head, psql < Dify's offline SQL:        median ${s(median(psql))}  [${psql.map(s).join(', ')}]`)
  console.log(`ratio: ${(median(ours) / median(psql)).toFixed(2)}× (target < 3×)`)
  console.log(
    `Dify 1.11.0 → 1.15.0, dify upgrade-db (whole process): median ${s(median(up))}, CPU ${s(median(upCpu))}  [${up.map(s).join(', ')}]`,
  )
  console.log(
    `Dify 1.11.0 → 1.15.0, psql < Dify's own SQL for the range: median ${s(median(upPsql))}  [${upPsql.map(s).join(', ')}]`,
  )
  console.log(`ratio: ${(median(up) / median(upPsql)).toFixed(2)}× (target ≤ 1.5×)`)
  console.log(
    `  protocol floor (bench/floor/upgrade-db.ts: upgrade-db's sessions, locks, catalog read and DDL, nothing else): median ${s(median(upFloor))}, CPU ${s(median(upFloorCpu))} = ${(median(upFloor) / median(upPsql)).toFixed(2)}× psql; the CLI = ${(median(up) / median(upFloor)).toFixed(2)}× the floor  [${upFloor.map(s).join(', ')}]`,
  )
  console.log(
    `  bare floor (the same program with one session and the DDL only, as psql: Node + pg): median ${s(median(upBare))}, CPU ${s(median(upBareCpu))} = ${(median(upBare) / median(upPsql)).toFixed(2)}× psql; what 1.5× leaves above it: ${s(1.5 * median(upPsql) - median(upBare))}  [${upBare.map(s).join(', ')}]`,
  )
  if (BEFORE)
    console.log(
      `  before (BENCH_BEFORE): median ${s(median(upBefore))}, CPU ${s(median(upBeforeCpu))} = ${(median(upBefore) / median(upPsql)).toFixed(2)}×  [${upBefore.map(s).join(', ')}]`,
    )
  console.log(
    `no-op at head, dify upgrade-db (whole process): median ${s(median(noop))}, min ${s(Math.min(...noop))}, CPU ${s(median(noopCpu))} (target < 1 s)`,
  )
  console.log(`reference: node -e 0 median ${s(median(node0))}; dify --version median ${s(median(version))}`)
} finally {
  for (const d of dbs) await d.drop().catch(() => {})
  await redis.drop()
}
