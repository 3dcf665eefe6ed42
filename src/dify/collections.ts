import { createHash } from 'node:crypto'

/**
 * Dify's vector collection naming (reference: dify-vector-stores.md §1.1, §3, §4; upstream
 * `api/models/dataset.py` `Dataset.gen_collection_name_by_id`, `api/commands.py` vdb-migrate, and each store's
 * `api/core/rag/datasource/vdb/<store>/` module). Pure functions, no I/O.
 */

export const DEFAULT_VECTOR_INDEX_NAME_PREFIX = 'Vector_index'

/** `{VECTOR_INDEX_NAME_PREFIX}_{id with '-' → '_'}_Node` (mixed case, as Dify writes it into index_struct). */
export function genCollectionNameById(id: string, prefix = DEFAULT_VECTOR_INDEX_NAME_PREFIX): string {
  return `${prefix}_${id.replace(/-/g, '_')}_Node`
}

/** Stores for which vdb-migrate writes the mixed-case name into index_struct.class_prefix. */
export const MIXED_CASE_STORES: ReadonlySet<string> = new Set([
  'milvus',
  'pgvector',
  'vastbase',
  'relyt',
  'weaviate',
  'oracle',
  'elasticsearch',
  'opengauss',
  'tablestore',
  'matrixone',
])
/** Stores for which Dify lower-cases the name (class_prefix stored lower-cased). */
export const LOWER_CASE_STORES: ReadonlySet<string> = new Set([
  'analyticdb',
  'chroma',
  'myscale',
  'pgvecto-rs',
  'tidb_vector',
  'opensearch',
  'tencent',
  'baidu',
  'vikingdb',
  'upstash',
  'couchbase',
  'oceanbase',
])

/**
 * Stores whose factory lower-cases index_struct's class_prefix (and the generated name) before using it:
 * `collection_name = class_prefix.lower()` in their `*VectorFactory.init_vector` at 1.11.0 – 1.15.0 (store modules
 * under api/core/rag/datasource/vdb/, from 1.14.0 api/providers/vdb/vdb-<store>/). VectorType values.
 */
export const FACTORY_LOWERS_CLASS_PREFIX: ReadonlySet<string> = new Set([
  'analyticdb',
  'baidu',
  'chroma',
  'huawei_cloud',
  'lindorm',
  'myscale',
  'oceanbase',
  'opensearch',
  'pgvecto-rs',
  'tencent',
  'tidb_vector',
  'upstash',
  'vikingdb',
])

export interface DatasetNamingInput {
  id: string
  /** datasets.index_struct (JSON text) or null */
  indexStruct?: string | null
  /** dataset_collection_bindings.collection_name of datasets.collection_binding_id, when there is one */
  bindingCollectionName?: string | null
}

export interface IndexStruct {
  type: string
  vector_store: { class_prefix: string }
}

/** Parse datasets.index_struct; null for NULL/empty/invalid. */
export function parseIndexStruct(text: string | null | undefined): IndexStruct | null {
  if (!text) return null
  try {
    const v = JSON.parse(text) as Partial<IndexStruct>
    if (typeof v?.type === 'string' && typeof v.vector_store?.class_prefix === 'string') return v as IndexStruct
  } catch {
    /* not JSON */
  }
  return null
}

/**
 * The index_struct text Dify writes: Python `json.dumps` with default separators (", " and ": "), ASCII-escaped.
 * `{"type": "qdrant", "vector_store": {"class_prefix": "..."}}`
 */
export function indexStructJson(type: string, classPrefix: string): string {
  return `{"type": ${pyJsonString(type)}, "vector_store": {"class_prefix": ${pyJsonString(classPrefix)}}}`
}

function pyJsonString(s: string): string {
  // json.dumps(ensure_ascii=True): non-ASCII as \uXXXX (lower-case hex), like JSON.stringify otherwise
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * The class_prefix vdb-migrate writes for a dataset when the target is `store` (§1.1 table). Returns null for
 * stores vdb-migrate does not support.
 */
export function classPrefixForStore(
  store: string,
  datasetId: string,
  opts: { prefix?: string; bindingCollectionName?: string | null } = {},
): string | null {
  const name = genCollectionNameById(datasetId, opts.prefix)
  if (store === 'qdrant') return opts.bindingCollectionName || name
  if (MIXED_CASE_STORES.has(store)) return name
  if (LOWER_CASE_STORES.has(store)) return name.toLowerCase()
  return null
}

/**
 * The collection a store module uses for an existing dataset, as Dify's factories decide it: index_struct's
 * class_prefix when set, else the generated name (Qdrant: the binding's collection first).
 */
export function datasetCollectionName(store: string, d: DatasetNamingInput, prefix?: string): string {
  if (store === 'qdrant' && d.bindingCollectionName) return d.bindingCollectionName
  const s = parseIndexStruct(d.indexStruct)
  const name = s ? s.vector_store.class_prefix : genCollectionNameById(d.id, prefix)
  return FACTORY_LOWERS_CLASS_PREFIX.has(store) || (!s && LOWER_CASE_STORES.has(store)) ? name.toLowerCase() : name
}

// ------------------------------------------------------------------ pgvector

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are truncated silently (by bytes, at a character boundary). */
export const PG_MAX_IDENTIFIER_BYTES = 63

/** The table name as Dify's SQL spells it (unquoted): `embedding_<class_prefix>`. */
export function pgvectorTableSqlName(collection: string): string {
  return `embedding_${collection}`
}

/**
 * The real table name in the catalog: unquoted identifiers fold to lower case (ASCII only) and are truncated to 63
 * bytes, so the default-prefix name ends in `_nod`.
 */
export function pgPhysicalIdentifier(sqlName: string): string {
  const folded = sqlName.replace(/[A-Z]/g, (c) => c.toLowerCase())
  return truncateUtf8(folded, PG_MAX_IDENTIFIER_BYTES)
}

/** Weaviate upper-cases the first letter of class names: the class a collection name lives in. */
export function weaviateClassName(collection: string): string {
  return collection.charAt(0).toUpperCase() + collection.slice(1)
}

export function pgvectorPhysicalTable(collection: string): string {
  return pgPhysicalIdentifier(pgvectorTableSqlName(collection))
}

/** `embedding_cosine_v1_idx_` + the first 8 hex digits of md5(`embedding_<class_prefix>`) (the unfolded name). */
export function pgvectorHnswIndexName(collection: string): string {
  const hash = createHash('md5').update(pgvectorTableSqlName(collection), 'utf8').digest('hex').slice(0, 8)
  return `embedding_cosine_v1_idx_${hash}`
}

/** pgvector's HNSW index is only built by Dify when dim ≤ 2000. */
export const PGVECTOR_HNSW_MAX_DIM = 2000

function truncateUtf8(s: string, maxBytes: number): string {
  const b = Buffer.from(s, 'utf8')
  if (b.length <= maxBytes) return s
  let end = maxBytes
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--
  return b.subarray(0, end).toString('utf8')
}

// ------------------------------------------------------------------ targets

/** Where a store module puts a dataset's vectors: the collection, and for Qdrant the group_id (= dataset id). */
export function datasetTarget(
  store: string,
  d: DatasetNamingInput,
  prefix?: string,
): { collection: string; groupId?: string } {
  const collection = datasetCollectionName(store, d, prefix)
  return store === 'qdrant' ? { collection, groupId: d.id } : { collection }
}

/**
 * An annotation-reply app's vectors (vdb-migrate's annotation scope, §1.2): no index_struct, always the current
 * store. Qdrant: the binding's collection with group_id = app id; others: gen_collection_name_by_id(app id),
 * lower-cased for the lower-case stores.
 */
export function annotationTarget(
  store: string,
  appId: string,
  opts: { bindingCollectionName?: string | null; prefix?: string } = {},
): { collection: string; groupId?: string } {
  if (store === 'qdrant')
    return { collection: opts.bindingCollectionName || genCollectionNameById(appId, opts.prefix), groupId: appId }
  const name = genCollectionNameById(appId, opts.prefix)
  return { collection: LOWER_CASE_STORES.has(store) ? name.toLowerCase() : name }
}
