/**
 * Shared by the upgrade benchmarks (db-upgrade.ts, db-upgrade-1.0.ts): one timed run of the built CLI or of the psql
 * floor (Dify's own SQL through `psql`, against the same server), and the median / seconds formatting.
 */
import { spawnSync } from 'node:child_process'
import { BIN } from '../test/support/cli.js'
import { PG } from '../test/support/services.js'

const baseEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' })

/** Wall milliseconds of one run of `cmd` (throws on a non-zero exit). */
export function time(cmd: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): number {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, {
    env: { ...baseEnv(), ...opts.env },
    input: opts.input ?? '',
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return ms
}

/**
 * The Node binary that runs the CLI: BENCH_NODE=path measures another runtime, e.g. Node 22 (dify-api 1.11.3+, with
 * its compile cache) from scripts/services/node-versions.sh.
 */
export const CLI_NODE = process.env.BENCH_NODE ?? process.execPath

/**
 * One `dify …` run of the built CLI (or of `bin`, another build's bin/run.js): wall and CPU (user + sys, via
 * /usr/bin/time) milliseconds.
 */
export function dify(
  args: string[],
  env: Record<string, string>,
  bin: string = BIN,
): { wallMs: number; cpuMs: number } {
  const t0 = process.hrtime.bigint()
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', CLI_NODE, bin, ...args], {
    env: { ...baseEnv(), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0) throw new Error(`dify ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  const [u, sy] = r.stderr.toString().trim().split('\n').at(-1)!.split(' ').map(Number)
  return { wallMs, cpuMs: (u! + sy!) * 1000 }
}

/** The floor: `psql` applying `sql` to database `name` (stops at the first error), wall milliseconds. */
export function psqlFloor(name: string, sql: string): number {
  return time(
    'psql',
    ['-q', '-v', 'ON_ERROR_STOP=1', '-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', name],
    {
      input: sql,
    },
  )
}

/**
 * BENCH_BEFORE=/copy/of/an/older/build/bin/run.js: the upgrade benchmarks also time that build, interleaved with this
 * one on its own copy of the same database, so a change is measured before/after in one run.
 */
export const BEFORE = process.env.BENCH_BEFORE

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
export const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`
export const loadAverage = async () => (await import('node:os')).loadavg()[0]!.toFixed(1)
