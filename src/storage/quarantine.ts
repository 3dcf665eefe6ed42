import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import type { Db } from '../core/db.js'
import type { Storage } from '../runtime/storage.js'
import type { DifyProfile } from '../dify/profile.js'
import { FILE_TABLES } from '../dify/storage-refs.js'
import { NotFoundError, PartialError } from '../core/errors.js'
import { findOrphans, type MissingObject, type OrphanObject, type OrphansSummary } from './orphans.js'
import { existingColumns } from './refs.js'

/** dify-ops' own area in the storage (never an orphan itself: src/dify/storage-refs.ts) */
export const QUARANTINE_PREFIX = 'dify_ops_quarantine/'
export const quarantineRunPrefix = (runId: string) => `${QUARANTINE_PREFIX}${runId}/`
export const quarantineManifestPath = (runId: string) => `${quarantineRunPrefix(runId)}manifest.json`
/** where an object of a run is kept: `dify_ops_quarantine/<run-id>/objects/<original path>` */
export const quarantinedPath = (runId: string, path: string) => `${quarantineRunPrefix(runId)}objects/${path}`
const RUN_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/

export interface QuarantineManifest {
  version: 1
  runId: string
  createdAt: string
  location: string
  minAgeSeconds: number
  /** every orphan the run moves (written before the first move) */
  objects: Array<Pick<OrphanObject, 'path' | 'size' | 'modified' | 'tenantId' | 'kind'>>
  /** file rows whose object was missing: listed, never deleted */
  missing: MissingObject[]
}

export interface QuarantineResult {
  dryRun: boolean
  runId: string | null
  manifest: string | null
  moved: Array<{ path: string; size: number }>
  /** objects that got a file row since the scan (left in place) */
  skipped: Array<{ path: string; reason: string }>
  failed: Array<{ path: string; error: string }>
  missing: MissingObject[]
  summary: OrphansSummary
}

export function newRunId(now = new Date()): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`
}

type QStorage = Pick<Storage, 'walk' | 'location' | 'read' | 'write' | 'exists' | 'size' | 'delete' | 'copy'>

/** Whether a file row owns `path` now (the re-check right before a move). */
async function ownedByRow(db: Db, path: string): Promise<boolean> {
  const cols = await existingColumns(
    db,
    FILE_TABLES.map((t) => t.table),
  )
  for (const ft of FILE_TABLES) {
    if (!cols.get(ft.table)?.has(ft.keyColumn)) continue
    const r = await sql<{
      n: number
    }>`select 1 as n from ${sql.table(ft.table)} where ${sql.ref(ft.keyColumn)} = ${path} limit 1`.execute(db.kysely)
    if (r.rows.length) return true
  }
  return false
}

/**
 * Plan (the orphans of `findOrphans`) and, unless dryRun, move every orphan to `dify_ops_quarantine/<run-id>/objects/`
 * with a manifest written first. A move is copy, compare size, then delete the original; an object that got a file
 * row since the scan is skipped. `confirm` is called with the plan before anything is written.
 */
export async function quarantineOrphans(
  deps: { db: Db; profile: DifyProfile; storage: QStorage; now?: () => Date },
  opts: {
    minAgeSeconds: number
    dryRun: boolean
    confirm?: (plan: { objects: number; bytes: number }) => Promise<void>
    onMoved?: (path: string) => void
    signal?: AbortSignal
  },
): Promise<QuarantineResult> {
  const found = await findOrphans(deps, { minAgeSeconds: opts.minAgeSeconds, signal: opts.signal })
  const base = { moved: [], skipped: [], failed: [], missing: found.missing, summary: found.summary }
  // an interrupted scan is incomplete: nothing is moved on its account
  if (opts.dryRun || !found.orphans.length || opts.signal?.aborted)
    return { dryRun: opts.dryRun, runId: null, manifest: null, ...base }
  await opts.confirm?.({ objects: found.orphans.length, bytes: found.summary.orphanBytes })
  const now = (deps.now ?? (() => new Date()))()
  const runId = newRunId(now)
  const manifest: QuarantineManifest = {
    version: 1,
    runId,
    createdAt: now.toISOString(),
    location: deps.storage.location,
    minAgeSeconds: opts.minAgeSeconds,
    objects: found.orphans.map(({ path, size, modified, tenantId, kind }) => ({
      path,
      size,
      modified,
      tenantId,
      kind,
    })),
    missing: found.missing,
  }
  await deps.storage.write(quarantineManifestPath(runId), JSON.stringify(manifest, null, 2) + '\n')
  const r: QuarantineResult = {
    dryRun: false,
    runId,
    manifest: quarantineManifestPath(runId),
    ...base,
    moved: [],
    skipped: [],
    failed: [],
  }
  for (const o of found.orphans) {
    if (opts.signal?.aborted) break
    try {
      if (await ownedByRow(deps.db, o.path)) {
        r.skipped.push({ path: o.path, reason: 'a file row owns it now' })
        continue
      }
      const to = quarantinedPath(runId, o.path)
      await deps.storage.copy(o.path, to)
      const copied = await deps.storage.size(to)
      if (copied !== o.size) throw new Error(`the copy has ${copied} bytes, the object ${o.size}`)
      await deps.storage.delete(o.path)
      r.moved.push({ path: o.path, size: o.size })
      opts.onMoved?.(o.path)
    } catch (e) {
      r.failed.push({ path: o.path, error: (e as Error).message })
    }
  }
  return r
}

export interface RestoreResult {
  dryRun: boolean
  runId: string
  restored: string[]
  /** the original path exists again (left as is; the quarantined copy is kept) */
  conflicts: string[]
  /** neither in quarantine nor back at its place */
  lost: string[]
  alreadyInPlace: string[]
  failed: Array<{ path: string; error: string }>
}

/** The manifest of a run; NotFoundError (exit 3) for a malformed id or a run that is not there. */
export async function readManifest(
  storage: Pick<Storage, 'read' | 'location'>,
  runId: string,
): Promise<QuarantineManifest> {
  if (!RUN_ID.test(runId))
    throw new NotFoundError(`"${runId}" is not a quarantine run id.`, {
      hint: `Run ids look like 20261206T141500Z-a1b2c3: see the folders under ${QUARANTINE_PREFIX}.`,
    })
  const raw = await storage.read(quarantineManifestPath(runId)).catch((e) => {
    if ((e as { code?: string }).code === 'ENOENT')
      throw new NotFoundError(`No quarantine run ${runId} in ${storage.location}.`, {
        hint: `List ${QUARANTINE_PREFIX} to see the runs.`,
      })
    throw e
  })
  return JSON.parse(raw.toString('utf8')) as QuarantineManifest
}

/** Put every object of a quarantine run back where it was; the run's folder is removed when all are back. */
export async function restoreRun(
  storage: QStorage,
  runId: string,
  opts: { dryRun: boolean; onRestored?: (path: string) => void },
): Promise<RestoreResult> {
  const manifest = await readManifest(storage, runId)
  const r: RestoreResult = {
    dryRun: opts.dryRun,
    runId,
    restored: [],
    conflicts: [],
    lost: [],
    alreadyInPlace: [],
    failed: [],
  }
  for (const o of manifest.objects) {
    const q = quarantinedPath(runId, o.path)
    try {
      const inQ = await storage.exists(q)
      const atHome = await storage.exists(o.path)
      if (!inQ) {
        ;(atHome ? r.alreadyInPlace : r.lost).push(o.path)
        continue
      }
      if (atHome) {
        r.conflicts.push(o.path)
        continue
      }
      if (!opts.dryRun) {
        await storage.copy(q, o.path)
        await storage.delete(q)
      }
      r.restored.push(o.path)
      opts.onRestored?.(o.path)
    } catch (e) {
      r.failed.push({ path: o.path, error: (e as Error).message })
    }
  }
  if (!opts.dryRun && !r.conflicts.length && !r.failed.length) await storage.delete(quarantineManifestPath(runId))
  if (!opts.dryRun && r.failed.length) {
    throw new PartialError(
      `${r.failed.length} of ${manifest.objects.length} objects of run ${runId} could not be restored (first: ${r.failed[0]!.path}: ${r.failed[0]!.error}).`,
      {
        hint: 'Run the same restore again: objects already back are skipped.',
        details: { ...r },
      },
    )
  }
  return r
}
