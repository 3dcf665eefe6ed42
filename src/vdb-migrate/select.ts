import type { Db } from '../runtime/db.js'
import type { MigrateOptions, Unit } from './types.js'

/**
 * Which datasets and apps a run covers (reference dify-vector-stores.md §1.1, §1.2):
 * - knowledge: `datasets.indexing_technique = 'high_quality'` (economy and external datasets have no vectors),
 *   newest first as Dify's command walks them; `--dataset` / `--tenant` narrow it;
 * - annotation: apps with `status = 'normal'` that have an `app_annotation_settings` row (annotation reply
 *   enabled), with the binding's model; `--app` / `--tenant` narrow it.
 * Naming only datasets selects no apps and vice versa. `--shard i/n` keeps the ids whose shard is i.
 */
export async function selectDatasets(db: Db, o: Pick<MigrateOptions, 'datasets' | 'tenants' | 'apps' | 'shard'>): Promise<Unit[]> {
  if (o.apps.length && !o.datasets.length) return []
  let q = db.kysely
    .selectFrom('datasets as d')
    .leftJoin('dataset_collection_bindings as b', 'b.id', 'd.collection_binding_id')
    .select([
      'd.id', 'd.tenant_id', 'd.name', 'd.index_struct', 'd.embedding_model', 'd.embedding_model_provider',
      'd.collection_binding_id', 'b.collection_name',
    ])
    .where('d.indexing_technique', '=', 'high_quality')
  if (o.datasets.length) q = q.where('d.id', 'in', o.datasets)
  if (o.tenants.length) q = q.where('d.tenant_id', 'in', o.tenants)
  const rows = await q.orderBy('d.created_at', 'desc').orderBy('d.id').execute()
  return rows
    .map((r): Unit => ({
      kind: 'dataset',
      id: String(r.id),
      tenantId: String(r.tenant_id),
      name: r.name,
      model: r.embedding_model ?? null,
      provider: r.embedding_model_provider ?? null,
      indexStruct: r.index_struct,
      collectionBindingId: r.collection_binding_id ? String(r.collection_binding_id) : null,
      bindingCollection: r.collection_name ?? null,
    }))
    .filter((u) => inShard(u.id, o.shard))
}

export async function selectAnnotationApps(db: Db, o: Pick<MigrateOptions, 'datasets' | 'tenants' | 'apps' | 'shard'>): Promise<Unit[]> {
  if (o.datasets.length && !o.apps.length) return []
  let q = db.kysely
    .selectFrom('apps as a')
    .innerJoin('app_annotation_settings as s', 's.app_id', 'a.id')
    .leftJoin('dataset_collection_bindings as b', 'b.id', 's.collection_binding_id')
    .select(['a.id', 'a.tenant_id', 'a.name', 's.collection_binding_id', 'b.collection_name', 'b.model_name', 'b.provider_name'])
    .where('a.status', '=', 'normal')
  if (o.apps.length) q = q.where('a.id', 'in', o.apps)
  if (o.tenants.length) q = q.where('a.tenant_id', 'in', o.tenants)
  const rows = await q.orderBy('a.created_at', 'desc').orderBy('a.id').execute()
  return rows
    .map((r): Unit => ({
      kind: 'annotation',
      id: String(r.id),
      tenantId: String(r.tenant_id),
      name: r.name,
      model: r.model_name ?? null,
      provider: r.provider_name ?? null,
      indexStruct: null,
      collectionBindingId: r.collection_binding_id ? String(r.collection_binding_id) : null,
      bindingCollection: r.collection_name ?? null,
    }))
    .filter((u) => inShard(u.id, o.shard))
}

/** Stable shard of an id: the first 8 hex digits of the uuid modulo n (uuid4 digits are uniform). */
export function shardOf(id: string, count: number): number {
  const hex = id.replace(/-/g, '').slice(0, 8)
  const n = /^[0-9a-f]{8}$/i.test(hex) ? parseInt(hex, 16) : [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
  return n % count
}

export function inShard(id: string, shard?: { index: number; count: number }): boolean {
  return !shard || shardOf(id, shard.count) === shard.index
}

/** Parse `--shard i/n` (0 ≤ i < n). */
export function parseShard(s: string | undefined): { index: number; count: number } | undefined {
  if (s === undefined) return undefined
  const m = s.match(/^(\d+)\/(\d+)$/)
  if (!m) return null as never
  const index = Number(m[1])
  const count = Number(m[2])
  if (count < 1 || index >= count) return null as never
  return { index, count }
}
