import type { LiveItem, LiveTarget } from '../dify/live-set.js'
import { liveItems } from '../dify/live-set.js'
import { difyTextHash, lookupEmbeddings } from '../dify/embedding-cache.js'
import type { VectorRecord } from '../vector/store.js'
import {
  joinTarget,
  selectTargets,
  vectorTargetOf,
  type CheckOptions,
  type TargetCheck,
  type VdbDeps,
} from './check.js'

/**
 * `vdb repair`: delete orphan vectors through the store's own delete path (Dify's delete_by_ids) and fill missing
 * vectors from Dify's embedding cache, never inventing one (docs/vdb-check.md). A target whose store cannot be
 * reached (or is not supported) is never touched.
 */

export interface RepairOptions extends CheckOptions {
  deleteOrphans: boolean
  fillMissing: boolean
  dryRun: boolean
  /** records per delete / upsert call (default 500) */
  batchSize?: number
}

export type UnfillableReason =
  'no-cache-entry' | 'unreadable-cache-entry' | 'image-not-cached-by-text' | 'no-embedding-model' | 'dimension-mismatch'

export interface TargetRepair {
  scope: 'knowledge' | 'annotation'
  id: string
  name: string
  storeType: string
  collection: string
  /** skipped: store unreachable/unsupported, nothing was touched; failed: a write failed (counts say what was done) */
  status: 'repaired' | 'clean' | 'planned' | 'skipped' | 'failed'
  error: string | null
  before: Pick<TargetCheck, 'missing' | 'orphaned' | 'duplicated' | 'stored'> & { live: number }
  orphans: { found: number; deleted: number; wouldDelete: number }
  missing: {
    found: number
    fillable: number
    filled: number
    unfillable: number
    unfillableByReason: Partial<Record<UnfillableReason, number>>
    unfillableExamples: Array<{ docId: string; reason: UnfillableReason }>
  }
  /** created the collection because it did not exist and there was something to fill */
  createdCollection: boolean
  /** duplicates cannot be repaired here (reported only) */
  duplicated: number
}

export interface RepairResult {
  dryRun: boolean
  targets: TargetRepair[]
  summary: {
    targets: number
    skipped: number
    failed: number
    orphansDeleted: number
    orphansFound: number
    missingFound: number
    filled: number
    fillable: number
    unfillable: number
  }
}

export async function repairTarget(deps: VdbDeps, t: LiveTarget, opts: RepairOptions): Promise<TargetRepair> {
  const batchSize = opts.batchSize ?? 500
  const { report, orphanIds, live } = await joinTarget(deps, t, {
    ...opts,
    sample: 0,
    collectOrphans: opts.deleteOrphans,
  })
  const out: TargetRepair = {
    scope: t.scope,
    id: t.id,
    name: t.name,
    storeType: t.storeType,
    collection: t.collection,
    status: opts.dryRun ? 'planned' : 'clean',
    error: report.error,
    before: {
      live: report.live.total,
      stored: report.stored,
      missing: report.missing,
      orphaned: report.orphaned,
      duplicated: report.duplicated,
    },
    orphans: { found: report.orphaned, deleted: 0, wouldDelete: 0 },
    missing: {
      found: report.missing,
      fillable: 0,
      filled: 0,
      unfillable: 0,
      unfillableByReason: {},
      unfillableExamples: [],
    },
    createdCollection: false,
    duplicated: report.duplicated,
  }
  if (report.status === 'unreachable' || report.status === 'unsupported') {
    out.status = 'skipped'
    return out
  }
  const got = await deps.stores.get(t.storeType)
  if ('error' in got) {
    out.status = 'skipped'
    out.error = got.error
    return out
  }
  const store = got.store
  const vt = vectorTargetOf(t)
  let wrote = false
  try {
    await write()
  } catch (e) {
    // a store write failed part-way: report what was done, go on with the other targets (exit 7)
    out.status = 'failed'
    out.error = (e as Error).message.split('\n')[0]!
    return out
  }
  if (!opts.dryRun && wrote) out.status = 'repaired'
  return out

  async function write(): Promise<void> {
    // orphans: the adapter's delete_by_ids path, in batches
    if (opts.deleteOrphans && orphanIds.length) {
      if (opts.dryRun) out.orphans.wouldDelete = orphanIds.length
      else {
        for (let i = 0; i < orphanIds.length; i += batchSize) {
          const chunk = orphanIds.slice(i, i + batchSize)
          await store.deleteByDocIds(vt, chunk)
          out.orphans.deleted += chunk.length
        }
        wrote = true
      }
    }
    orphanIds.length = 0

    // missing: a second pass over the live set, keeping the unseen items, vectors from the cache only
    if (opts.fillMissing && report.missing > 0) {
      const unfillable = (docId: string, reason: UnfillableReason) => {
        out.missing.unfillable++
        out.missing.unfillableByReason[reason] = (out.missing.unfillableByReason[reason] ?? 0) + 1
        if (out.missing.unfillableExamples.length < (opts.examples ?? 10))
          out.missing.unfillableExamples.push({ docId, reason })
      }
      let dim: number | null = report.store.dimension
      let ensured = report.store.exists === true
      let pending: LiveItem[] = []
      const flush = async () => {
        if (!pending.length) return
        const items = pending
        pending = []
        const textItems = items.filter((it) => it.kind !== 'image')
        for (const it of items) if (it.kind === 'image') unfillable(it.docId, 'image-not-cached-by-text')
        if (!textItems.length) return
        if (!t.embeddingModel || !t.embeddingProvider) {
          for (const it of textItems) unfillable(it.docId, 'no-embedding-model')
          return
        }
        const cache = await lookupEmbeddings(
          deps.db,
          { model: t.embeddingModel, provider: t.embeddingProvider },
          textItems.map((i) => i.text),
        )
        const records: VectorRecord[] = []
        for (const it of textItems) {
          const e = cache.get(difyTextHash(it.text))
          if (!e) unfillable(it.docId, 'no-cache-entry')
          else if ('error' in e) unfillable(it.docId, 'unreadable-cache-entry')
          else if (dim !== null && e.vector.length !== dim) unfillable(it.docId, 'dimension-mismatch')
          else {
            dim ??= e.vector.length
            records.push({
              id: it.docId,
              docId: it.docId,
              text: it.text,
              metadata: it.metadata,
              vector: Array.from(e.vector),
            })
          }
        }
        out.missing.fillable += records.length
        if (opts.dryRun || !records.length) return
        if (!ensured) {
          out.createdCollection = (await store.ensureCollection(vt, dim!)) === 'created'
          ensured = true
        }
        await store.upsert(vt, records)
        out.missing.filled += records.length
        wrote = true
      }
      for await (const batch of liveItems(deps, t)) {
        for (const it of batch) {
          if (live.get(it.docId) === false) {
            live.set(it.docId, true) // a doc_id shared by two live items is filled once
            pending.push(it)
          }
        }
        if (pending.length >= batchSize) await flush()
      }
      await flush()
    }
  }
}

export async function repairAll(deps: VdbDeps, opts: RepairOptions): Promise<RepairResult> {
  const targets: TargetRepair[] = []
  for await (const t of selectTargets(deps, opts)) {
    opts.onTarget?.(t)
    targets.push(await repairTarget(deps, t, opts))
  }
  const summary = {
    targets: targets.length,
    skipped: 0,
    failed: 0,
    orphansDeleted: 0,
    orphansFound: 0,
    missingFound: 0,
    filled: 0,
    fillable: 0,
    unfillable: 0,
  }
  for (const r of targets) {
    if (r.status === 'skipped') summary.skipped++
    if (r.status === 'failed') summary.failed++
    summary.orphansFound += r.orphans.found
    summary.orphansDeleted += r.orphans.deleted
    summary.missingFound += r.missing.found
    summary.fillable += r.missing.fillable
    summary.filled += r.missing.filled
    summary.unfillable += r.missing.unfillable
  }
  return { dryRun: opts.dryRun, targets, summary }
}
