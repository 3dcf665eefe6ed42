import type { LiveItem, LiveTarget } from '../dify/live-set.js'
import type { VectorRecord, VectorStore, VectorTarget } from '../vector/store.js'
import type { DocIds, DocIdSet } from '../vdb/doc-id-map.js'

/** A unit of work: one dataset's knowledge vectors, or one app's annotation vectors. */
export interface Unit {
  kind: 'dataset' | 'annotation'
  /** dataset id or app id */
  id: string
  tenantId: string
  name: string
  /** embedding model of the vectors (datasets.embedding_model / binding model_name): the cache key */
  model: string | null
  provider: string | null
  /** datasets.index_struct as stored (the compare-and-swap value); null for annotations */
  indexStruct: string | null
  collectionBindingId: string | null
  /** dataset_collection_bindings.collection_name of the binding (Qdrant's shared collection) */
  bindingCollection: string | null
  /** the live set's view of the unit (src/dify/live-set.ts) */
  liveTarget: LiveTarget
}

export type { LiveItem }

/** The live set, read from the metadata database (over `src/dify/live-set.ts`, the one definition). */
export interface LiveSetPort {
  /** every live doc_id of the unit (datasets: segments / child chunks / images / summaries; apps: annotation ids) */
  docIds(unit: Unit): Promise<DocIdSet>
  /** the live items (text + Dify metadata) whose doc_id is in `docIds`, in batches (one pass) */
  itemsFor(unit: Unit, docIds: DocIds, batchSize: number): AsyncIterable<LiveItem[]>
}

/** Dify's `embeddings` cache: vectors by (model_name, sha256(text + "None"), provider_name). */
export interface EmbeddingCachePort {
  /** text → vector for the texts the cache holds */
  lookup(model: string, provider: string, texts: string[]): Promise<Map<string, number[]>>
}

export interface OpenedStore {
  store: VectorStore
  /** "<type>@<location>" (no credentials) */
  key: string
  location: string
  serverVersion: string
}

export interface MigrateOptions {
  scope: 'knowledge' | 'annotation' | 'all'
  datasets: string[]
  tenants: string[]
  apps: string[]
  shard?: { index: number; count: number }
  /** --from TYPE: the source store type (datasets whose index_struct names another type are skipped) */
  from?: string
  batchSize: number
  concurrency: number
  restart: boolean
  dryRun: boolean
  force: boolean
  /** switch even when some live items have no vector anywhere (they are reported) */
  allowMissing: boolean
  /** how many vectors verification compares with the source */
  verifySample: number
}

export type UnitOutcome = 'migrated' | 'skipped' | 'failed' | 'incomplete' | 'planned' | 'interrupted'

export interface UnitReport {
  kind: Unit['kind']
  id: string
  tenantId: string
  name: string
  outcome: UnitOutcome
  reason?: string
  source: { type: string | null; collection: string | null }
  target: { type: string; collection: string; physicalName: string }
  live: number
  fromSource: number
  fromCache: number
  /** annotations without --from: live vectors already in the target collection, kept in place */
  kept: number
  missing: number
  /** source vectors whose doc_id is not live (not copied) */
  orphans: number
  /** source doc_ids seen more than once (the first is copied) */
  duplicates: number
  written: number
  /** source records skipped because a checkpoint says they are written */
  resumedFrom: number
  verified: boolean
  switched: boolean
  sourceDeleted: boolean
  missingDocIds: string[]
  warnings: string[]
  seconds: number
}

export interface Progress {
  unitStart(u: Unit, index: number, total: number, live: number): void
  batch(u: Unit, done: number, live: number): void
  unitEnd(r: UnitReport): void
}

export interface Deps {
  db: import('../core/db.js').Db
  /** where checkpoints live (default: the table in the metadata database) */
  checkpoints?: import('./checkpoint.js').CheckpointPort
  /** app-cache Redis (Dify's collection keys) */
  redis?: { client: { del(...keys: string[]): Promise<number> }; keyPrefix: string }
  target: OpenedStore
  /** source store of this type (the --from store for every type when given) */
  openSource(type: string): Promise<OpenedStore>
  live: LiveSetPort
  cache: EmbeddingCachePort
  vectorIndexNamePrefix: string
  signal?: AbortSignal
  progress?: Progress
  /** asked before --delete-source removes a unit's source collection */
  confirmDeleteSource?: (u: Unit, where: string) => Promise<boolean>
}

export type { VectorRecord, VectorTarget }
