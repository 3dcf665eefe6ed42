import type { RedisKeyDeps } from './redis-keys.js'
/**
 * The one interface every vector store module implements (design.md "Vector stores"). A module reads and writes
 * exactly the layout Dify uses for that store (reference: dify-vector-stores.md §4; docs/vector-stores.md).
 */

/** Where a dataset's (or annotation app's) vectors live. */
export interface VectorTarget {
  /**
   * The collection name Dify's store module works with: index_struct.class_prefix (mixed or lower case as Dify
   * wrote it), or for Qdrant the shared dataset_collection_bindings.collection_name.
   */
  collection: string
  /** Qdrant only: payload `group_id` (dataset id, or app id for annotations) inside the shared collection. */
  groupId?: string
}

/** One stored vector, as Dify wrote it. */
export interface VectorRecord {
  /** the store's own key (pgvector/Chroma/Qdrant: = docId) */
  id: string
  /** metadata.doc_id: segments.index_node_id, child_chunks.index_node_id, upload_files.id or annotation id */
  docId: string
  /** page_content */
  text: string
  /** Dify's metadata dict (doc_id, doc_hash, document_id, dataset_id, …) */
  metadata: Record<string, unknown>
  vector: number[]
  /**
   * pgvector only, and never enumerable: the same vector in pgvector's binary send format (uint16 dim, uint16 0,
   * dim × float4 big-endian), which is also its binary COPY input. The pgvector scan sets it (and decodes `vector`
   * only when it is read; assigning `vector` drops it); the pgvector upsert writes these bytes as they are, so a
   * pgvector → pgvector copy never turns floats into numbers and back. Other adapters neither set nor read it.
   */
  pgvectorSend?: Buffer
  /** the vector's L2 norm as the store computed it (only from a scan with `normsOnly` that the adapter honours) */
  norm?: number
}

/** The dimension of a record's vector without decoding pgvector's bytes. */
export function vectorDimension(r: VectorRecord): number {
  return r.pgvectorSend ? r.pgvectorSend.readUInt16BE(0) : r.vector.length
}

/** What Dify's search_by_vector returns: page_content + metadata with `score` added. */
export interface SearchHit {
  id: string
  docId: string
  text: string
  metadata: Record<string, unknown>
  /** Dify's score for this store (pgvector/Qdrant: 1 − cosine distance; Chroma: 1 − squared-L2 distance) */
  score: number
}

/** The physical layout of one collection, introspected from the server (for layout checks and `vdb check`). */
export interface CollectionLayout {
  /** the physical name on the server (pgvector: the truncated, folded table name) */
  name: string
  dimension: number | null
  metric: 'cosine' | 'l2' | 'ip' | string
  /** store-specific details: columns, index names and parameters, payload indexes, … */
  details: Record<string, unknown>
}

export interface StoreDescription {
  /** Dify's VECTOR_STORE value */
  type: string
  serverVersion: string
  /** one line describing where Dify keeps collections in this store */
  collectionLayout: string
  /** where the adapter connects (no credentials) */
  location: string
}

/** A store as the audit line and vdb-migrate's checkpoints name it: `<type>@<location>` (no credentials). */
export const storeLabel = (d: Pick<StoreDescription, 'type' | 'location'>): string => `${d.type}@${d.location}`

export interface EnsureOptions {
  /**
   * Bulk load: create the collection without its vector index; `finishBulkLoad` builds it afterwards so the end
   * state is identical to Dify's (pgvector only; other stores ignore it).
   */
  deferIndex?: boolean
}

export interface ScanOptions {
  batchSize?: number
  /**
   * The caller reads only id, docId and each vector's L2 norm (vdb check), plus the whole vector of the doc_ids in
   * `vectorsOf`. An adapter that can compute norms in the store returns records with `norm` set, text '', metadata
   * {} and `vector` empty except for those doc_ids (pgvector); any other adapter ignores the option and returns
   * full records.
   */
  normsOnly?: { vectorsOf?: readonly string[] }
}

export interface SearchOptions {
  /** Dify's document_ids_filter (metadata.document_id IN …) */
  documentIds?: string[]
  /**
   * Dify's score_threshold (retrieval settings; Dify passes 0.0 when unset), applied with the store's own
   * comparison (pgvector and Chroma keep score ≥ t; Qdrant sends it to the server and keeps score > t).
   * Undefined: no threshold, the raw top k.
   */
  scoreThreshold?: number
}

export interface VectorStore {
  readonly type: string
  describe(): Promise<StoreDescription>
  /** the physical name on the server for a target */
  physicalName(target: VectorTarget): string
  /** does the target exist (Qdrant: the collection holds any point of the group) */
  exists(target: VectorTarget): Promise<boolean>
  /**
   * Create the collection with Dify's schema, metric, indexes and payload indexes. `exists` when it is already
   * there with the same dimension and metric; a ConfigError when it exists with another dimension or metric.
   */
  ensureCollection(target: VectorTarget, dim: number, opts?: EnsureOptions): Promise<'created' | 'exists'>
  /** build what ensureCollection({deferIndex}) left out; a no-op elsewhere */
  finishBulkLoad(target: VectorTarget): Promise<void>
  /** the collection's real layout, or null when it does not exist */
  layout(target: VectorTarget): Promise<CollectionLayout | null>
  /** idempotent write keyed as Dify keys it (doc_id); a retry never duplicates */
  upsert(target: VectorTarget, batch: VectorRecord[]): Promise<void>
  /** every record of the target, in batches, with vectors; bounded memory */
  scan(target: VectorTarget, opts?: ScanOptions): AsyncIterable<VectorRecord[]>
  count(target: VectorTarget): Promise<number>
  /** Dify's search_by_vector (top_k = k, no score threshold) */
  search(target: VectorTarget, vector: number[], k: number, opts?: SearchOptions): Promise<SearchHit[]>
  /** Dify's delete_by_ids: by metadata.doc_id */
  deleteByDocIds(target: VectorTarget, docIds: string[]): Promise<void>
  /** Dify's delete(): drop the collection (Qdrant: delete the group's points); a missing target is success */
  deleteTarget(target: VectorTarget): Promise<void>
  close(): Promise<void>
}

export const DEFAULT_SCAN_BATCH = 500

/** Options every store module's `open` accepts. */
export interface OpenOptions {
  /** to clear Dify's "collection exists" cache keys when a collection is created or dropped */
  redis?: RedisKeyDeps
  /** Weaviate object ids as the connected Dify release writes them (profile.weaviateIdScheme); default uuid5-text */
  weaviateIdScheme?: 'uuid5-text' | 'doc-id'
  /** Weaviate classes get doc_type, is_summary and original_chunk_id (profile.weaviateSummaryProperties); default true */
  weaviateSummaryProperties?: boolean
  /**
   * Weaviate classes as the connected release creates them (profile.weaviateClassLayout): `v4` (1.9.2+) a named
   * vector "default" and four or seven properties; `v3` (≤ 1.9.1) the property `text` alone and the legacy unnamed
   * vector. Default v4.
   */
  weaviateClassLayout?: 'v3' | 'v4'
}
