/**
 * Shared by the upgrade benchmarks (db-upgrade.ts, db-upgrade-1.0.ts): one timed run of the built CLI or of the psql
 * floor (Dify's own SQL through `psql`, against the same server), and the median / seconds formatting.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { UpgradeFloorJob } from './floor/upgrade-db.js'
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

let floorBundle: string | undefined

/**
 * The protocol floor (bench/floor/upgrade-db.ts) on database `job.database`: bundled once per benchmark with esbuild,
 * as the CLI bundles pg (the Cloudflare-Worker probe off: `Response` defined as undefined, the same effect as
 * scripts/build.mjs's patch), then one timed run of the bundle under the CLI's Node. Wall and CPU milliseconds, as
 * `dify()`.
 */
export async function protocolFloor(
  job: Omit<UpgradeFloorJob, 'pg'> & { database: string },
): Promise<{ wallMs: number; cpuMs: number }> {
  const dir = join(tmpdir(), `dify-ops-bench-floor-${process.pid}`)
  if (!floorBundle) {
    mkdirSync(dir, { recursive: true })
    floorBundle = join(dir, 'upgrade-db.mjs')
    const { build } = await import('esbuild')
    await build({
      entryPoints: [fileURLToPath(new URL('floor/upgrade-db.ts', import.meta.url))],
      outfile: floorBundle,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node18.19',
      external: ['pg-native'],
      define: { Response: 'undefined' },
      minifyWhitespace: true,
      minifySyntax: true,
      logLevel: 'warning',
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    })
    if (readFileSync(floorBundle, 'utf8').includes('new Response('))
      throw new Error("pg's Cloudflare-Worker probe survived the floor's bundle; review bench/db-upgrade-lib.ts")
  }
  const { database, ...rest } = job
  const file = join(dir, `${database}.json`)
  writeFileSync(file, JSON.stringify({ ...rest, pg: { ...PG, password: '', database } } satisfies UpgradeFloorJob))
  const t0 = process.hrtime.bigint()
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', CLI_NODE, floorBundle, file], {
    env: baseEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0) throw new Error(`the protocol floor exited ${r.status}: ${r.stderr}`)
  const [u, sy] = r.stderr.toString().trim().split('\n').at(-1)!.split(' ').map(Number)
  return { wallMs, cpuMs: (u! + sy!) * 1000 }
}

/**
 * Dify's SQL for a PostgreSQL range (chainSqlBetween: `BEGIN; … COMMIT;`) as the floor's groups: cut around each
 * statement that must run outside a transaction (CREATE INDEX CONCURRENTLY, which Dify's own SQL already brackets
 * with COMMIT and BEGIN), every transaction but the last with `synchronous_commit = off`, as upgrade-db runs them.
 */
export function floorGroups(sql: string): string[] {
  const groups: string[] = []
  let current: string[] = []
  for (const line of sql.split('\n')) {
    if (/^CREATE (UNIQUE )?INDEX CONCURRENTLY /.test(line)) {
      groups.push(current.join('\n'), line)
      current = []
    } else current.push(line)
  }
  groups.push(current.join('\n'))
  return groups
    .filter((g) => g.trim())
    .map((g, i, all) =>
      i < all.length - 1 && /^\s*BEGIN;/.test(g)
        ? g.replace(/^\s*BEGIN;/, 'BEGIN; SET LOCAL synchronous_commit = off;')
        : g,
    )
}
