import type { Storage } from '../runtime/storage.js'
import { ConfigError, PartialError } from '../core/errors.js'
import { QUARANTINE_PREFIX, quarantineManifestPath, quarantineRunPrefix, readManifest } from './quarantine.js'
import { formatAge } from './usage.js'

export interface PurgeResult {
  dryRun: boolean
  runId: string
  createdAt: string
  ageSeconds: number
  olderThanSeconds: number
  /** every object under the run's prefix (the manifest last): deleted, or would be with --dry-run */
  objects: Array<{ path: string; size: number }>
  bytes: number
  deleted: number
  failed: Array<{ path: string; error: string }>
}

type PStorage = Pick<Storage, 'walk' | 'read' | 'delete' | 'location'>

/**
 * Delete a quarantine run for good: every object under `dify_ops_quarantine/<run-id>/`, the manifest last (so an
 * interrupted purge can run again). Refused (ConfigError, exit 4) while the run is younger than `olderThanSeconds`,
 * counted from the manifest's `createdAt`. `confirm` gets the plan before the first delete.
 */
export async function purgeRun(
  storage: PStorage,
  runId: string,
  opts: {
    olderThanSeconds: number
    dryRun: boolean
    now?: Date
    confirm?: (plan: { objects: number; bytes: number }) => Promise<void>
    signal?: AbortSignal
  },
): Promise<PurgeResult> {
  const manifest = await readManifest(storage, runId)
  const created = new Date(manifest.createdAt)
  if (Number.isNaN(created.getTime()))
    throw new ConfigError(`The manifest of quarantine run ${runId} has no valid createdAt (${manifest.createdAt}).`, {
      hint: `Look at ${quarantineManifestPath(runId)}; nothing was deleted.`,
    })
  const ageSeconds = Math.max(0, Math.floor(((opts.now ?? new Date()).getTime() - created.getTime()) / 1000))
  if (ageSeconds < opts.olderThanSeconds) {
    throw new ConfigError(
      `Quarantine run ${runId} is ${formatAge(ageSeconds)} old, younger than the grace period of ${formatAge(opts.olderThanSeconds)}: ${formatAge(opts.olderThanSeconds - ageSeconds)} remain.`,
      {
        hint: `Purge it after ${new Date(created.getTime() + opts.olderThanSeconds * 1000).toISOString()}, or give a shorter --older-than.`,
        details: {
          runId,
          createdAt: manifest.createdAt,
          ageSeconds,
          remainingSeconds: opts.olderThanSeconds - ageSeconds,
        },
      },
    )
  }
  const manifestPath = quarantineManifestPath(runId)
  const objects: Array<{ path: string; size: number }> = []
  let manifestObject: { path: string; size: number } | undefined
  for await (const o of storage.walk(quarantineRunPrefix(runId))) {
    if (o.path === manifestPath) manifestObject = { path: o.path, size: o.size }
    else objects.push({ path: o.path, size: o.size })
  }
  if (manifestObject) objects.push(manifestObject)
  const r: PurgeResult = {
    dryRun: opts.dryRun,
    runId,
    createdAt: manifest.createdAt,
    ageSeconds,
    olderThanSeconds: opts.olderThanSeconds,
    objects,
    bytes: objects.reduce((a, o) => a + o.size, 0),
    deleted: 0,
    failed: [],
  }
  if (opts.dryRun) return r
  await opts.confirm?.({ objects: objects.length, bytes: r.bytes })
  for (const o of objects) {
    if (opts.signal?.aborted) break
    // the manifest goes only when every object is gone: a failed or interrupted purge can run again
    if (o.path === manifestPath && (r.failed.length || r.deleted < objects.length - 1)) break
    try {
      await storage.delete(o.path)
      r.deleted++
    } catch (e) {
      r.failed.push({ path: o.path, error: (e as Error).message })
    }
  }
  if (r.failed.length)
    throw new PartialError(
      `${r.failed.length} of ${objects.length} objects of quarantine run ${runId} could not be deleted (first: ${r.failed[0]!.path}: ${r.failed[0]!.error}).`,
      {
        hint: `Run the same purge again; the manifest is kept until every object of ${QUARANTINE_PREFIX}${runId}/ is gone.`,
        details: { ...r },
      },
    )
  return r
}
