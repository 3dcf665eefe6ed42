/** `dify vdb-migrate`: select the units, the pre-flight, then each unit in turn (src/vdb-migrate/migrate.ts). */
import { liveSetDeps, type LiveSetDeps } from '../dify/live-set.js'
import { DEFAULT_VECTOR_INDEX_NAME_PREFIX } from '../dify/collections.js'
import { CheckpointStore, RedisCheckpointStore, type CheckpointRedis } from './checkpoint.js'
import { embeddingCachePort, redisKeyDeps, type VdbMigrateDeps } from './deps.js'
import { migrateUnit } from './migrate.js'
import { preflight } from './prepare.js'
import { liveSetPort, selectUnits } from './select.js'
import type { Deps, MigrateOptions, Progress, Unit, UnitReport } from './types.js'

export interface MigrateTotals {
  units: number
  migrated: number
  skipped: number
  failed: number
  incomplete: number
  interrupted: number
  planned: number
  live: number
  fromSource: number
  fromCache: number
  missing: number
  orphans: number
  written: number
}

export interface MigrateResult {
  dryRun: boolean
  interrupted: boolean
  units: UnitReport[]
  totals: MigrateTotals
}

/**
 * Knowledge datasets first, then annotation apps (as Dify's `--scope all`), one unit at a time (writes inside a
 * unit run with bounded concurrency). Stops between units when `deps.signal` aborts.
 */
export async function runUnits(deps: Deps, o: MigrateOptions, units: Unit[]): Promise<MigrateResult> {
  const reports: UnitReport[] = []
  let interrupted = false
  for (let i = 0; i < units.length; i++) {
    if (deps.signal?.aborted) {
      interrupted = true
      break
    }
    const r = await migrateUnit(deps, o, units[i]!, i, units.length)
    reports.push(r)
    if (r.outcome === 'interrupted') {
      interrupted = true
      break
    }
  }
  // an interrupt after the last unit's switch still ends as interrupted (exit 130)
  if (deps.signal?.aborted) interrupted = true
  return { dryRun: o.dryRun, interrupted, units: reports, totals: totalsOf(reports) }
}

export function totalsOf(rs: UnitReport[]): MigrateTotals {
  const t: MigrateTotals = {
    units: rs.length,
    migrated: 0,
    skipped: 0,
    failed: 0,
    incomplete: 0,
    interrupted: 0,
    planned: 0,
    live: 0,
    fromSource: 0,
    fromCache: 0,
    missing: 0,
    orphans: 0,
    written: 0,
  }
  for (const r of rs) {
    t[r.outcome]++
    t.live += r.live
    t.fromSource += r.fromSource
    t.fromCache += r.fromCache
    t.missing += r.missing
    t.orphans += r.orphans
    t.written += r.written
  }
  return t
}

/** The `--json` shape of `dify vdb-migrate` (docs/vdb-migrate.md). */
export interface VdbMigrateJson extends MigrateResult {
  database: { location: string; revision: string | null; release: string | null }
  target: { type: string; location: string; serverVersion: string }
  sources: Array<{ type: string; location: string; serverVersion: string }>
  preflight: { indexingDocuments: number; datasetQueues: Record<string, number> | null }
  warnings: string[]
}

export interface RunOptions extends Omit<MigrateOptions, 'shard'> {
  shard: MigrateOptions['shard'] | null
  deleteSource: boolean
  /** where checkpoints live: the table in the metadata database (default) or the app-cache Redis */
  checkpoint?: 'db' | 'redis'
}

/** What `dify vdb-migrate` learns before it writes anything (shown before the units run). */
export interface StartInfo {
  database: VdbMigrateJson['database']
  target: VdbMigrateJson['target']
  units: number
  warnings: string[]
}

export interface RunHooks {
  signal: AbortSignal
  progress: Progress
  confirmDeleteSource(u: Unit, where: string): Promise<boolean>
  /** called after the pre-flight, before anything is written */
  onStart?(info: StartInfo): void
}

/** Everything `dify vdb-migrate` does after flag checks and the release check: select, pre-flight, run. */
export async function migrateSelected(d: VdbMigrateDeps, o: RunOptions, h: RunHooks): Promise<VdbMigrateJson> {
  const { db, profile, target, sources, redis } = d
  const liveDeps: LiveSetDeps = { ...liveSetDeps(db, profile, d.config), vectorStore: target.store.type }
  const opts: MigrateOptions = { ...o, shard: o.shard ?? undefined }
  const units = await selectUnits(liveDeps, opts)
  const pre = await preflight(db, units, d.broker, { force: o.force, dryRun: o.dryRun })
  const database = { location: db.describe, revision: profile.revision, release: profile.version }
  const tgt = { type: target.store.type, location: target.location, serverVersion: target.serverVersion }
  h.onStart?.({ database, target: tgt, units: units.length, warnings: pre.warnings })
  const checkpoints =
    redis && o.checkpoint === 'redis'
      ? new RedisCheckpointStore({ client: redis.client as never as CheckpointRedis, keyPrefix: redis.keyPrefix })
      : new CheckpointStore(db)
  const deps: Deps = {
    db,
    redis: redisKeyDeps(redis),
    checkpoints,
    target,
    openSource: (t) => sources.open(t),
    live: liveSetPort(liveDeps),
    cache: embeddingCachePort(db),
    vectorIndexNamePrefix: liveDeps.namePrefix ?? DEFAULT_VECTOR_INDEX_NAME_PREFIX,
    signal: h.signal,
    progress: h.progress,
    ...(o.deleteSource && !o.dryRun ? { confirmDeleteSource: h.confirmDeleteSource } : {}),
  }
  const res = await runUnits(deps, opts, units)
  return {
    ...res,
    database,
    target: tgt,
    sources: sources.opened.map((s) => ({ type: s.store.type, location: s.location, serverVersion: s.serverVersion })),
    preflight: { indexingDocuments: pre.indexingDocuments, datasetQueues: pre.datasetQueues },
    warnings: pre.warnings,
  }
}
