// `dify retention clean` over 1 000 000 workflow_node_executions (50 per run), 60 % older than the cut-off, next to
// the single `DELETE … WHERE created_at < cut` operators try and the floor: the same batched keyset delete (200 runs
// per transaction, node executions, app logs, runs) by hand in psql, one server-side DO block, in the same run.
// Each contender gets its own copy of one seeded template database (Dify 1.15.0 schema on PostgreSQL).
// Targets: ≥ 0.8× the floor's rows/s; the longest batch transaction (= the longest a Dify statement can wait on
// it) < 1 s; peak RSS flat (the run at a quarter of the size for comparison).
// Build first (dist/). Run: npm run bench -- retention-clean [node executions]
// RUNS=n (default 3) rounds, each timing every contender once on a fresh copy, interleaved (floor, CLI, [before],
// single); best and median reported. BENCH_BEFORE=/copy/of/an/older/build/bin/run.js also times that build in each
// round (before/after in the same run, on the same data). Each copy is made with CREATE DATABASE … STRATEGY FILE_COPY
// and followed by a CHECKPOINT, so no contender pays for the copy's WAL or for another's dirty buffers.
import { spawnSync } from 'node:child_process'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { loadRelease } from '../test/support/oracles.js'
import { scratchPg, type Scratch } from '../test/support/scratch.js'
import { PG } from '../test/support/services.js'
import { report } from './lib.js'

const N = Number(process.argv[2] ?? 1_000_000)
const RUNS = Number(process.env.RUNS ?? 3)
const BEFORE = process.env.BENCH_BEFORE
const PER_RUN = 50
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const ENDED = `('succeeded','failed','partial-succeeded','stopped')`

async function seed(s: Scratch, nodes: number): Promise<void> {
  await loadRelease(s, 'postgres', '1.15.0')
  const c = new pg.Client({ ...PG, database: s.name })
  await c.connect()
  const runs = nodes / PER_RUN
  const old = Math.round(runs * 0.6)
  const runId = (g: string) => `('00000000-0000-4000-8000-' || lpad((${g})::text, 12, '0'))::uuid`
  // runs 1..old are 60 days old, the rest 1 day old
  const age = (g: string) =>
    `(now() at time zone 'utc') - case when ${g} <= ${old} then interval '60 days' else interval '1 day' end + (${g}) * interval '1 millisecond'`
  await c.query(`insert into workflow_runs (id, tenant_id, app_id, workflow_id, type, triggered_from, version, graph, status, created_by_role, created_by, created_at)
    select ${runId('g')}, '11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', gen_random_uuid(), 'workflow', 'app-run', 'v1', '{}', 'succeeded', 'account', gen_random_uuid(), ${age('g')}
    from generate_series(1, ${runs}) g`)
  await c.query(`insert into workflow_node_executions (id, tenant_id, app_id, workflow_id, triggered_from, workflow_run_id, index, node_id, node_type, title, status, elapsed_time, created_by_role, created_by, created_at, outputs)
    select gen_random_uuid(), '11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', gen_random_uuid(), 'workflow-run', ${runId(`1 + (g - 1) / ${PER_RUN}`)}, g % ${PER_RUN}, 'n', 'llm', 't', 'succeeded', 0, 'account', gen_random_uuid(), ${age(`1 + (g - 1) / ${PER_RUN}`)}, repeat('o', 100)
    from generate_series(1, ${nodes}) g`)
  await c.query(`insert into workflow_app_logs (id, tenant_id, app_id, workflow_id, workflow_run_id, created_from, created_by_role, created_by, created_at)
    select gen_random_uuid(), '11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', gen_random_uuid(), ${runId('g')}, 'service-api', 'account', gen_random_uuid(), ${age('g')}
    from generate_series(1, ${runs}) g`)
  await c.query('vacuum analyze')
  await c.end()
}

function timed(cmd: string, args: string[], env?: NodeJS.ProcessEnv) {
  const t0 = performance.now()
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', cmd, ...args], {
    env: env ?? process.env,
    maxBuffer: 1 << 28,
  })
  const wallMs = performance.now() - t0
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  const [u, s, rss] = (r.stderr.toString().trim().split('\n').pop() ?? '').split(' ').map(Number)
  return { wallMs, cpuMs: (u! + s!) * 1000, rssKb: rss!, stdout: r.stdout.toString() }
}

const psql = (db: string, sql: string) =>
  timed('psql', ['-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', db, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql])

async function count(db: string): Promise<number> {
  const c = new pg.Client({ ...PG, database: db })
  await c.connect()
  const r = await c.query('select count(*)::int as n from workflow_node_executions')
  await c.end()
  return r.rows[0].n
}

const CUT = `(now() at time zone 'utc') - interval '30 days'`
// the floor: the same keyset batches as the CLI (200 runs, (created_at, id) order), deleted server-side
const FLOOR = `do $$
declare ids uuid[]; lc timestamp; li uuid;
begin
  loop
    select array_agg(id order by created_at, id), max(created_at) into ids, lc from (
      select id, created_at from workflow_runs where created_at < ${CUT} and status in ${ENDED}
        and (lc is null or (created_at, id) > (lc, li)) order by created_at, id limit 200) s;
    exit when ids is null;
    li := ids[array_length(ids, 1)];
    delete from workflow_node_executions where workflow_run_id = any(ids);
    delete from workflow_app_logs where workflow_run_id = any(ids);
    delete from workflow_runs where id = any(ids);
    commit;
  end loop;
end $$`

/** A copy of the template (FILE_COPY: no WAL for the copy), then a CHECKPOINT: each contender starts clean. */
const copyOf = (template: string): Promise<Scratch> => scratchPg('retbench', { template, fileCopy: true })

interface Run {
  wallMs: number
  cpuMs: number
  rssKb: number
  deleted: number
  maxBatchMs?: number
}

const cliArgs = (bin: string) => [
  bin,
  'retention',
  'clean',
  '--older-than',
  '30d',
  '--tables',
  'workflow',
  '--batch-size',
  '200',
  '--sleep-between',
  '0',
  '--yes',
  '--json',
]

async function contenders(nodes: number, rounds: number, names: string[]) {
  const template = await scratchPg('retbenchtpl')
  const t0 = performance.now()
  await seed(template, nodes)
  console.log(`seeded ${nodes} node executions in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  const out: Record<string, Run[]> = {}
  try {
    for (let round = 0; round < rounds; round++)
      for (const name of names) {
        const s = await copyOf(template.name)
        try {
          const before = await count(s.name)
          let r
          let maxBatchMs: number | undefined
          if (name === 'floor') r = psql(s.name, FLOOR)
          else if (name === 'single')
            r = psql(
              s.name,
              `begin; delete from workflow_node_executions where created_at < ${CUT}; delete from workflow_app_logs where created_at < ${CUT}; delete from workflow_runs where created_at < ${CUT}; commit;`,
            )
          else {
            r = timed(process.execPath, cliArgs(name === 'before' ? BEFORE! : BIN), {
              PATH: process.env.PATH,
              HOME: process.env.HOME,
              ...s.env,
            })
            maxBatchMs = JSON.parse(r.stdout).maxBatchMs
          }
          ;(out[name] ??= []).push({ ...r, deleted: before - (await count(s.name)), maxBatchMs })
        } finally {
          await s.drop()
        }
      }
  } finally {
    await template.drop()
  }
  return out
}

const best = (xs: Run[]) => xs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const s1 = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const line = (xs: Run[], floor: Run[]) => {
  const b = best(xs)
  const m = median(xs.map((x) => x.wallMs))
  const fb = best(floor).wallMs
  const fm = median(floor.map((x) => x.wallMs))
  return `best ${s1(b.wallMs)} (CPU ${s1(b.cpuMs)}), median ${s1(m)}; ${rate(b)} = ${(fb / b.wallMs).toFixed(2)}× the floor's rate best to best, ${(fm / m).toFixed(2)}× median to median; all ${xs.map((x) => (x.wallMs / 1000).toFixed(2)).join(' / ')} s`
}

const rate = (x: { wallMs: number; deleted: number }) =>
  `${Math.round(x.deleted / (x.wallMs / 1000)).toLocaleString('en')} node executions/s`
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
)
const names = ['floor', 'cli', ...(BEFORE ? ['before'] : []), 'single']
const full = await contenders(N, RUNS, names)
const quarter = await contenders(N / 4, 1, ['cli'])
const cliRuns = full.cli!
report(`retention clean over ${N} node executions (${PER_RUN} per run, 60 % older than 30 days), ${RUNS} rounds`, [
  [
    'floor: keyset batches of 200 runs in one DO block',
    `best ${s1(best(full.floor!).wallMs)}, median ${s1(median(full.floor!.map((x) => x.wallMs)))}; ${rate(best(full.floor!))}; all ${full.floor!.map((x) => (x.wallMs / 1000).toFixed(2)).join(' / ')} s`,
  ],
  ['dify retention clean --batch-size 200', line(cliRuns, full.floor!)],
  [
    '  longest batch, peak RSS',
    `${Math.max(...cliRuns.map((x) => x.maxBatchMs ?? 0))} ms; ${Math.round(Math.max(...cliRuns.map((x) => x.rssKb)) / 1024)} MB (${Math.round(quarter.cli![0]!.rssKb / 1024)} MB at ${N / 4})`,
  ],
  ...(BEFORE
    ? ([
        ['before (BENCH_BEFORE)', line(full.before!, full.floor!)],
        ['  before: longest batch', `${Math.max(...full.before!.map((x) => x.maxBatchMs ?? 0))} ms`],
      ] as Array<[string, string]>)
    : []),
  [
    'single DELETE … WHERE created_at < cut (one transaction)',
    `best ${s1(best(full.single!).wallMs)}; ${rate(best(full.single!))} — holds its row locks for the whole time`,
  ],
  [
    'deleted (each run of floor / cli / single)',
    `${[...new Set(full.floor!.map((x) => x.deleted))].join(',')} / ${[...new Set(cliRuns.map((x) => x.deleted))].join(',')} / ${[...new Set(full.single!.map((x) => x.deleted))].join(',')}`,
  ],
])
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
)
