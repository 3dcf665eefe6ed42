import { migrateUnit } from './migrate.js'
import type { Deps, MigrateOptions, Unit, UnitReport } from './types.js'

export type {
  Deps,
  MigrateOptions,
  UnitReport,
  Unit,
  LiveSetPort,
  EmbeddingCachePort,
  OpenedStore,
  Progress,
} from './types.js'
export { selectUnits, liveSetPort, parseShard, shardOf } from './select.js'
export { indexingDocuments, datasetQueueLengths } from './preflight.js'
export {
  CHECKPOINT_TABLE,
  CheckpointStore,
  RedisCheckpointStore,
  type CheckpointPort,
  type Checkpoint,
} from './checkpoint.js'

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
