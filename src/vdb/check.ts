import { createHash } from 'node:crypto'
import {
  annotationTargets,
  datasetTargets,
  liveItems,
  type LiveItem,
  type LiveKind,
  type LiveSetDeps,
  type LiveTarget,
  type TargetFilter,
} from '../dify/live-set.js'
import { compareVectors, difyTextHash, l2norm, lookupEmbeddings } from '../dify/embedding-cache.js'
import { isSupportedStore } from '../vector/index.js'
import { DocIdMap } from './doc-id-map.js'
import { storeLabel, type VectorStore, type VectorTarget } from '../vector/store.js'

/**
 * `vdb check` / `vdb show`: the live set of each dataset / annotation app (src/dify/live-set.ts) joined on doc_id
 * with what its vector store holds (docs/vdb-check.md).
 *
 * Memory: per target, one DocIdMap entry per live doc_id (≈ 17–34 bytes for a UUID doc_id, ≈ 120 for any other),
 * plus one Set entry per orphan found, plus the sample, plus one scan page. Nothing else grows with the store.
 */

export type Scope = 'knowledge' | 'annotation' | 'all'

/** Opens stores lazily, one client per store type, and remembers which could not be reached. */
export class StorePool {
  #stores = new Map<string, Promise<{ store: VectorStore; location: string } | { error: string }>>()
  constructor(private readonly open: (type: string) => Promise<VectorStore>) {}

  /** the store for a type, or why it cannot be used (unreachable: describe() failed) */
  get(type: string): Promise<{ store: VectorStore; location: string } | { error: string }> {
    let p = this.#stores.get(type)
    if (!p) {
      p = (async () => {
        let store: VectorStore | undefined
        try {
          store = await this.open(type)
          const { location } = await store.describe()
          return { store, location }
        } catch (e) {
          await store?.close().catch(() => {})
          return { error: (e as Error).message }
        }
      })()
      this.#stores.set(type, p)
    }
    return p
  }

  /** the stores opened so far, as `<type>@<location>` (for the audit line) */
  async opened(): Promise<string[]> {
    const out: string[] = []
    for (const [type, p] of this.#stores) {
      const r = await p
      if ('store' in r) out.push(storeLabel({ type, location: r.location }))
    }
    return out
  }

  async close(): Promise<void> {
    for (const p of this.#stores.values()) {
      const r = await p
      if ('store' in r) await r.store.close().catch(() => {})
    }
  }
}

export interface VdbDeps extends LiveSetDeps {
  stores: StorePool
}

export interface CheckOptions extends TargetFilter {
  scope?: Scope
  /** live items per target whose stored vector is compared with the embedding cache (default 20; 0: none) */
  sample?: number
  /** examples kept per problem kind (default 10) */
  examples?: number
  onTarget?: (t: LiveTarget) => void
}

export type TargetStatus = 'consistent' | 'drift' | 'unreachable' | 'unsupported'

export interface SampleReport {
  /** sampled live items found in the store */
  checked: number
  /** stored vector equals the cache entry (within float32 rounding) */
  equal: number
  /** stored vector differs from the cache entry */
  mismatched: number
  /** no cache entry for the text (pruned cache, or an image vector, which is not cached by text) */
  noCacheEntry: number
  /** cache entry present but not a pickled float list */
  unreadableCacheEntry: number
  examples: Array<{ docId: string; problem: 'mismatch' | 'unreadable-cache'; maxAbsDiff?: number; cosine?: number }>
}

export interface TargetCheck {
  scope: 'knowledge' | 'annotation'
  id: string
  tenantId: string
  name: string
  store: {
    type: string
    typeFrom: 'index_struct' | 'VECTOR_STORE'
    collection: string
    physicalName: string
    groupId: string | null
    indexStruct: string | null
    exists: boolean | null
    dimension: number | null
    metric: string | null
  }
  status: TargetStatus
  error: string | null
  live: { total: number } & Record<LiveKind, number>
  /** records in the store for this target (null when unreachable/unsupported) */
  stored: number | null
  missing: number
  orphaned: number
  /** doc_ids held by more than one record (extra records counted) */
  duplicated: number
  /** live items sharing a doc_id with another live item (Dify keeps one vector for them) */
  liveDuplicates: number
  /** stored vectors whose L2 norm is not 1 ± 1e-3 (Dify writes unit vectors) */
  offNorm: number
  sample: SampleReport
  /** missing + orphaned + duplicated + sample mismatches + off-norm vectors */
  drift: number
  examples: { missing: string[]; orphaned: string[]; duplicated: string[]; offNorm: string[] }
}

/** The internal result of the join, kept for `repair`. */
export interface JoinResult {
  report: TargetCheck
  /** every orphan doc_id (only when collectOrphans) */
  orphanIds: string[]
  /** live doc_id → seen in store */
  live: DocIdMap
}

function emptyLive(): TargetCheck['live'] {
  return { total: 0, text: 0, qa: 0, child: 0, image: 0, summary: 0, annotation: 0 }
}

export function vectorTargetOf(t: LiveTarget): VectorTarget {
  return t.groupId ? { collection: t.collection, groupId: t.groupId } : { collection: t.collection }
}

/** A small deterministic PRNG (mulberry32) seeded from the target id: reruns sample the same items. */
function rng(seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0)
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const NORM_TOLERANCE = 1e-3

/** Records per scan page: about 1.5 MB of raw vectors per page (1536 dims: 250), at most 1000. */
export function scanBatch(dimension: number | null): number {
  const dim = dimension ?? 1536
  return Math.max(50, Math.min(1000, Math.floor(1_500_000 / (dim * 4))))
}

/** Join one target's live set with its store. */
export async function joinTarget(
  deps: VdbDeps,
  t: LiveTarget,
  opts: CheckOptions & { collectOrphans?: boolean } = {},
): Promise<JoinResult> {
  const nEx = opts.examples ?? 10
  const sampleN = Math.max(0, opts.sample ?? 20)
  const report: TargetCheck = {
    scope: t.scope,
    id: t.id,
    tenantId: t.tenantId,
    name: t.name,
    store: {
      type: t.storeType,
      typeFrom: t.storeTypeFrom,
      collection: t.collection,
      physicalName: t.physicalName,
      groupId: t.groupId ?? null,
      indexStruct: t.indexStruct,
      exists: null,
      dimension: null,
      metric: null,
    },
    status: 'consistent',
    error: null,
    live: emptyLive(),
    stored: null,
    missing: 0,
    orphaned: 0,
    duplicated: 0,
    liveDuplicates: 0,
    offNorm: 0,
    sample: { checked: 0, equal: 0, mismatched: 0, noCacheEntry: 0, unreadableCacheEntry: 0, examples: [] },
    drift: 0,
    examples: { missing: [], orphaned: [], duplicated: [], offNorm: [] },
  }
  const live = new DocIdMap()
  const orphanIds: string[] = []

  // 1. the live set: doc_ids, and a reservoir sample of text items
  const rand = rng(t.id)
  const sample: LiveItem[] = []
  let seenForSample = 0
  for await (const batch of liveItems(deps, t)) {
    for (const it of batch) {
      report.live[it.kind]++
      report.live.total++
      if (live.has(it.docId)) {
        report.liveDuplicates++
        continue
      }
      live.set(it.docId, false)
      if (sampleN > 0 && it.kind !== 'image') {
        seenForSample++
        if (sample.length < sampleN) sample.push(it)
        else {
          const j = Math.floor(rand() * seenForSample)
          if (j < sampleN) sample[j] = it
        }
      }
    }
  }

  // 2. the store
  if (!isSupportedStore(t.storeType)) {
    report.status = 'unsupported'
    report.error = `Vector store "${t.storeType}" is not supported by dify-ops.`
    return { report, orphanIds, live }
  }
  if (t.problem) {
    // Dify itself cannot open this collection (e.g. a dangling Qdrant binding): nothing to compare, nothing to repair
    report.status = 'unreachable'
    report.error = t.problem
    return { report, orphanIds, live }
  }
  const got = await deps.stores.get(t.storeType)
  if ('error' in got) {
    report.status = 'unreachable'
    report.error = got.error
    return { report, orphanIds, live }
  }
  const store = got.store
  const vt = vectorTargetOf(t)
  const sampleIds = new Map(sample.map((s) => [s.docId, s]))
  const sampledVectors = new Map<string, Float32Array>()
  const orphanSet = new Set<string>()
  let stored = 0
  try {
    const layout = await store.layout(vt)
    report.store.exists = layout !== null
    report.store.dimension = layout?.dimension ?? null
    report.store.metric = layout?.metric ?? null
    if (layout) {
      // norms computed by the store where it can (pgvector): only the sampled vectors cross the wire
      const normsOnly = { vectorsOf: [...sampleIds.keys()] }
      for await (const batch of store.scan(vt, { batchSize: scanBatch(layout.dimension), normsOnly })) {
        for (const r of batch) {
          stored++
          const seen = live.get(r.docId)
          if (seen === undefined) {
            if (orphanSet.has(r.docId)) {
              report.duplicated++
              if (report.examples.duplicated.length < nEx) report.examples.duplicated.push(r.docId)
            } else {
              orphanSet.add(r.docId)
              report.orphaned++
              if (report.examples.orphaned.length < nEx) report.examples.orphaned.push(r.docId)
              if (opts.collectOrphans) orphanIds.push(r.docId)
            }
          } else if (seen) {
            report.duplicated++
            if (report.examples.duplicated.length < nEx) report.examples.duplicated.push(r.docId)
          } else {
            live.set(r.docId, true)
            if (sampleIds.has(r.docId) && r.vector.length) sampledVectors.set(r.docId, Float32Array.from(r.vector))
          }
          if (Math.abs((r.norm ?? l2norm(r.vector)) - 1) > NORM_TOLERANCE) {
            report.offNorm++
            if (report.examples.offNorm.length < nEx) report.examples.offNorm.push(r.docId)
          }
        }
      }
    }
  } catch (e) {
    report.status = 'unreachable'
    report.error = (e as Error).message
    return { report, orphanIds, live }
  }
  report.stored = stored
  for (const docId of live.unseen()) {
    report.missing++
    if (report.examples.missing.length < nEx) report.examples.missing.push(docId)
  }

  // 3. the sampled vectors against the embedding cache
  // in chunks of 100: each chunk's cache rows (pickles of ~14 KB at 1536 dims) are decoded, compared and dropped
  const sampledItems = [...sampledVectors.keys()].map((id) => sampleIds.get(id)!)
  for (let i = 0; i < sampledItems.length; i += 100) {
    const items = sampledItems.slice(i, i + 100)
    const cache =
      t.embeddingModel && t.embeddingProvider
        ? await lookupEmbeddings(
            deps.db,
            { model: t.embeddingModel, provider: t.embeddingProvider },
            items.map((x) => x.text),
          )
        : new Map()
    for (const it of items) {
      report.sample.checked++
      const entry = cache.get(difyTextHash(it.text))
      if (!entry) report.sample.noCacheEntry++
      else if ('error' in entry) {
        report.sample.unreadableCacheEntry++
        if (report.sample.examples.length < nEx)
          report.sample.examples.push({ docId: it.docId, problem: 'unreadable-cache' })
      } else {
        const cmp = compareVectors(sampledVectors.get(it.docId)!, entry.vector)
        if (cmp.equal) report.sample.equal++
        else {
          report.sample.mismatched++
          if (report.sample.examples.length < nEx) {
            report.sample.examples.push({
              docId: it.docId,
              problem: 'mismatch',
              maxAbsDiff: round(cmp.maxAbsDiff),
              cosine: round(cmp.cosine),
            })
          }
        }
      }
    }
  }
  report.drift = report.missing + report.orphaned + report.duplicated + report.sample.mismatched + report.offNorm
  report.status = report.drift > 0 ? 'drift' : 'consistent'
  return { report, orphanIds, live }
}

function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x
}

/** The targets selected by scope and filters: datasets first, then annotation apps. */
export async function* selectTargets(deps: LiveSetDeps, opts: CheckOptions): AsyncIterable<LiveTarget> {
  const scope = opts.scope ?? 'all'
  const ids = opts.datasetIds
  if (scope !== 'annotation') yield* datasetTargets(deps, { datasetIds: ids, tenantIds: opts.tenantIds })
  if (scope !== 'knowledge') yield* annotationTargets(deps, { appIds: ids ?? opts.appIds, tenantIds: opts.tenantIds })
}

export interface CheckSummary {
  targets: number
  consistent: number
  drift: number
  unreachable: number
  unsupported: number
  live: number
  stored: number
  missing: number
  orphaned: number
  duplicated: number
  sampleMismatched: number
  offNorm: number
}

export interface CheckResult {
  /** sorted by worst drift first */
  targets: TargetCheck[]
  summary: CheckSummary
}

/** Rank: unreachable/unsupported first (nothing is known), then by drift, then by live size. */
export function driftOrder(a: TargetCheck, b: TargetCheck): number {
  const w = (t: TargetCheck) => (t.status === 'unreachable' || t.status === 'unsupported' ? 1 : 0)
  return w(b) - w(a) || b.drift - a.drift || b.live.total - a.live.total || a.id.localeCompare(b.id)
}

export function summarize(targets: TargetCheck[]): CheckSummary {
  const s: CheckSummary = {
    targets: targets.length,
    consistent: 0,
    drift: 0,
    unreachable: 0,
    unsupported: 0,
    live: 0,
    stored: 0,
    missing: 0,
    orphaned: 0,
    duplicated: 0,
    sampleMismatched: 0,
    offNorm: 0,
  }
  for (const t of targets) {
    s[t.status]++
    s.live += t.live.total
    s.stored += t.stored ?? 0
    s.missing += t.missing
    s.orphaned += t.orphaned
    s.duplicated += t.duplicated
    s.sampleMismatched += t.sample.mismatched
    s.offNorm += t.offNorm
  }
  return s
}

/**
 * Check every selected target, one at a time (memory: one target's join state at a time). The per-target reports
 * are small (counts + a few examples), so they are kept to sort the table.
 */
export async function checkAll(deps: VdbDeps, opts: CheckOptions = {}): Promise<CheckResult> {
  const targets: TargetCheck[] = []
  for await (const t of selectTargets(deps, opts)) {
    opts.onTarget?.(t)
    targets.push((await joinTarget(deps, t, opts)).report)
  }
  targets.sort(driftOrder)
  return { targets, summary: summarize(targets) }
}
