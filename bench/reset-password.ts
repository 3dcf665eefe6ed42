/**
 * Benchmark: `dify reset-password --password-stdin` end to end (process start, oclif, PostgreSQL with Dify's 1.12
 * tables, Redis lock-out clear and session revocation) against the local services, next to `node -e 0`.
 * Target: under 0.5 s wall. Run: `npx tsc -p tsconfig.build.json && npx oclif manifest && npx vite-node bench/reset-password.ts`
 * (RUNS=15 by default; SESSIONS=1000 refresh tokens of other accounts in the key space, as on a busy install;
 * BENCH_NODE=path runs the CLI under another Node, e.g. 18.19.1 from scripts/services/node-versions.sh).
 */
import { spawnSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { BIN } from '../test/support/cli.js'
import { scratchPg, scratchRedis } from '../test/support/scratch.js'
import { loadOracleSchema } from '../test/support/dify-schema.js'
import { seedAccount, seedDb, seedSession } from '../test/support/dify-accounts.js'

const RUNS = Number(process.env.RUNS ?? 15)
const SESSIONS = Number(process.env.SESSIONS ?? 1000)
/** the Node binary that runs the CLI (BENCH_NODE=/path/to/node18 measures the dify-api 1.11.0–1.11.2 runtime) */
const NODE = process.env.BENCH_NODE ?? process.execPath

/**
 * Wall time in ms, and the child's CPU time (user + sys, via /usr/bin/time): on a shared, loaded machine the CPU
 * time is the load-independent figure, the wall time the one an operator feels.
 */
const cpuTimes: Record<string, number[]> = {}
function time(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; input?: string; label?: string } = {},
): number {
  const t0 = process.hrtime.bigint()
  const r = spawnSync('/usr/bin/time', ['-f', '__T %U %S', cmd, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    input: opts.input ?? '',
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  const m = String(r.stderr).match(/__T ([\d.]+) ([\d.]+)/)
  if (m && opts.label) (cpuTimes[opts.label] ??= []).push((Number(m[1]) + Number(m[2])) * 1000)
  return ms
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!
  return { min: s[0]!, median: q(0.5), p90: q(0.9), max: s[s.length - 1]! }
}
const fmt = (o: Record<string, number>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(3)} s`)
    .join(', ')

const pg = await scratchPg('benchreset')
const redis = await scratchRedis('benchreset')
try {
  loadOracleSchema(pg.name, '788d3099ae3a')
  const db = await seedDb('postgres', pg.name)
  const target = await seedAccount(db, { email: 'bench@example.com' })
  const others = []
  for (let i = 0; i < 20; i++) others.push(await seedAccount(db, { email: `user${i}@example.com` }))
  await db.close()
  for (let i = 0; i < SESSIONS; i++) await seedSession(redis.client, redis.prefix, others[i % others.length]!.id)
  const env = { ...pg.env, ...redis.env }
  const nodeTimes: number[] = []
  const cliTimes: number[] = []
  time(NODE, [BIN, 'reset-password', '--email', target.email, '--password-stdin'], { env, input: 'Warm-up-pass1' })
  for (let i = 0; i < RUNS; i++) {
    nodeTimes.push(time(NODE, ['-e', '0'], { label: 'node' }))
    await seedSession(redis.client, redis.prefix, target.id)
    await redis.client.set(`${redis.prefix}login_error_rate_limit:${target.email}`, '6', 'EX', 600)
    cliTimes.push(
      time(NODE, [BIN, 'reset-password', '--email', target.email, '--password-stdin'], {
        env,
        input: `Bench-pass-${i}x`,
        label: 'cli',
      }),
    )
  }
  const n = stats(nodeTimes)
  const c = stats(cliTimes)
  console.log(
    `node ${spawnSync(NODE, ['--version']).stdout.toString().trim()}, ${RUNS} runs, ${SESSIONS} other sessions in Redis, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, ${cpus().length} CPUs`,
  )
  console.log(`node -e 0                           : wall ${fmt(n)}`)
  console.log(`dify reset-password --password-stdin: wall ${fmt(c)}`)
  if (cpuTimes.node && cpuTimes.cli) {
    console.log(`node -e 0                           : cpu  ${fmt(stats(cpuTimes.node))}`)
    console.log(`dify reset-password --password-stdin: cpu  ${fmt(stats(cpuTimes.cli))}`)
  }
  console.log(
    `ratio (median)                      : ${(c.median / n.median).toFixed(2)}x; target < 0.5 s: ${c.median < 500 ? 'met' : 'NOT met'}`,
  )
} finally {
  await redis.drop()
  await pg.drop()
}
