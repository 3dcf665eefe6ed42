import { annotationTargets, datasetTargets, liveItems, type LiveSetDeps, type LiveTarget } from '../dify/live-set.js'
import type { LiveSetPort, MigrateOptions, Unit } from './types.js'
import { DocIdSet } from '../vdb/doc-id-map.js'

/**
 * Which datasets and apps a run covers, as the live set defines them (src/dify/live-set.ts; reference
 * dify-vector-stores.md §1.1, §1.2): high_quality, non-external datasets; apps with annotation reply enabled and an
 * existing binding. `--dataset` / `--tenant` narrow the datasets, `--app` / `--tenant` the apps; naming only
 * datasets selects no apps and vice versa. `--shard i/n` keeps the ids whose shard is i.
 */
export async function selectUnits(
  deps: LiveSetDeps,
  o: Pick<MigrateOptions, 'scope' | 'datasets' | 'tenants' | 'apps' | 'shard'>,
): Promise<Unit[]> {
  const out: Unit[] = []
  const filter = { datasetIds: o.datasets, appIds: o.apps, tenantIds: o.tenants }
  if (o.scope !== 'annotation' && !(o.apps.length && !o.datasets.length)) {
    for await (const t of datasetTargets(deps, filter)) if (inShard(t.id, o.shard)) out.push(unitOf(t))
  }
  if (o.scope !== 'knowledge' && !(o.datasets.length && !o.apps.length)) {
    for await (const t of annotationTargets(deps, filter)) if (inShard(t.id, o.shard)) out.push(unitOf(t))
  }
  return out
}

function unitOf(t: LiveTarget): Unit {
  return {
    kind: t.scope === 'knowledge' ? 'dataset' : 'annotation',
    id: t.id,
    tenantId: t.tenantId,
    name: t.name,
    model: t.embeddingModel,
    provider: t.embeddingProvider,
    indexStruct: t.indexStruct,
    collectionBindingId: t.collectionBindingId,
    bindingCollection: t.bindingCollection,
    liveTarget: t,
  }
}

/** The live-set port over src/dify/live-set.ts (streamed; only doc_ids are kept). */
export function liveSetPort(deps: LiveSetDeps): LiveSetPort {
  return {
    async docIds(u) {
      const ids = new DocIdSet()
      for await (const batch of liveItems(deps, u.liveTarget, { batchSize: 2000 }))
        for (const it of batch) ids.add(it.docId)
      return ids
    },
    async *itemsFor(u, docIds, batchSize) {
      let buf = []
      for await (const batch of liveItems(deps, u.liveTarget, { batchSize: 2000 })) {
        for (const it of batch) if (docIds.has(it.docId)) buf.push(it)
        if (buf.length >= batchSize) {
          yield buf
          buf = []
        }
      }
      if (buf.length) yield buf
    },
  }
}

/** Stable shard of an id: the first 8 hex digits of the uuid modulo n (uuid4 digits are uniform). */
export function shardOf(id: string, count: number): number {
  const hex = id.replace(/-/g, '').slice(0, 8)
  const n = /^[0-9a-f]{8}$/i.test(hex)
    ? parseInt(hex, 16)
    : [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
  return n % count
}

export function inShard(id: string, shard?: { index: number; count: number }): boolean {
  return !shard || shardOf(id, shard.count) === shard.index
}

/** Parse `--shard i/n` (0 ≤ i < n); null when malformed, undefined when not given. */
export function parseShard(s: string | undefined): { index: number; count: number } | null | undefined {
  if (s === undefined) return undefined
  const m = s.match(/^(\d+)\/(\d+)$/)
  if (!m) return null
  const index = Number(m[1])
  const count = Number(m[2])
  if (count < 1 || index >= count) return null
  return { index, count }
}
