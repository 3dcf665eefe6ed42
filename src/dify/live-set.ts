import { sql, type ExpressionBuilder, type Kysely } from 'kysely'
import type { Db } from '../core/db.js'
import type { DifyDatabase } from '../core/tables.js'
import type { DifyProfile } from './profile.js'
import type { Config } from '../config/schema.js'
import {
  DEFAULT_VECTOR_INDEX_NAME_PREFIX,
  LOWER_CASE_STORES,
  annotationTarget,
  datasetTarget as datasetVectorTarget,
  parseIndexStruct,
  pgvectorPhysicalTable,
  weaviateClassName,
} from './collections.js'

/**
 * THE live set: the vectors Dify's indexing keeps in a vector store, derived from the metadata database only.
 * Defined once here and shared by `vdb check` / `vdb show` / `vdb repair` and `vdb-migrate`
 * (reference: dify-vector-stores.md §1–§2, §4 "Common rules", §6; docs/vdb-check.md "The live set").
 *
 * Knowledge (datasets with indexing_technique = 'high_quality', provider <> 'external'):
 * - documents: indexing_status = 'completed', enabled, not archived;
 * - segments of those documents: status = 'completed', enabled, index_node_id not null;
 *   - `text_model`: the segment (content), metadata {doc_id, doc_hash, document_id, dataset_id};
 *   - `qa_model`: the question (content) with metadata `answer` = segments.answer;
 *   - `hierarchical_model`: NOT the segment; its child_chunks (index_node_id not null), same four metadata keys
 *     (upstream add_document_to_index_task / parent_child_index_processor);
 * - where datasets.is_multimodal: one image vector per segment_attachment_bindings row of a live segment,
 *   doc_id = upload_files.id, page_content = upload_files.name, metadata {doc_id, doc_hash: "", document_id,
 *   dataset_id, doc_type: "image"} (any doc_form);
 * - from Dify 1.12.0 (profile.summaryIndex): per live segment the newest document_segment_summaries row with
 *   status 'completed', enabled, non-empty summary_content and summary_index_node_id; metadata {doc_id, doc_hash,
 *   dataset_id, document_id, original_chunk_id, doc_type: "text", is_summary: true}. `summary_index_setting.enable`
 *   only gates generating new summaries, not whether existing ones are indexed (upstream summary_index_service.py
 *   enable_summaries_for_segments), so it is not a condition here.
 * Annotations: per app with an app_annotation_settings row (annotation reply enabled) whose collection binding
 * exists: every message_annotations row, text = question_text (question, else content; profile.annotationText:
 * from 1.11.3, before that the question alone and NULL questions skipped), metadata {annotation_id, app_id, doc_id}.
 *
 * Extractor metadata written at first indexing (e.g. `source`) is not in the database: the metadata built here is
 * the part the database determines. Everything is streamed with keyset pagination (bounded memory) and works on
 * PostgreSQL, MySQL and PGlite. Segments and child chunks page on index_node_id, which Dify indexes together with
 * dataset_id (document_segment_node_dataset_idx, child_chunks_node_idx), so each page continues an index range scan
 * instead of sorting the dataset again; a doc_id shared by two rows of the same part is therefore read once.
 */

export type LiveKind = 'text' | 'qa' | 'child' | 'image' | 'summary' | 'annotation'

export interface LiveItem {
  /** the vector's doc_id as Dify keys it (segments/child_chunks.index_node_id, upload_files.id, summary node id, annotation id) */
  docId: string
  /** page_content as Dify embeds it */
  text: string
  /** metadata as Dify builds it (the database-determined keys) */
  metadata: Record<string, unknown>
  kind: LiveKind
  /** documents.id (null for annotations) */
  documentId: string | null
  /** datasets.id, or the app id for annotations */
  datasetId: string
}

export type TargetScope = 'knowledge' | 'annotation'

/** Where Dify will look for one dataset's (or one annotation app's) vectors. */
export interface LiveTarget {
  scope: TargetScope
  /** dataset id or app id */
  id: string
  tenantId: string
  name: string
  /** store type: index_struct.type, else VECTOR_STORE (annotations: always VECTOR_STORE) */
  storeType: string
  /** where the store type was decided */
  storeTypeFrom: 'index_struct' | 'VECTOR_STORE'
  /** the collection name Dify's store module works with (class_prefix, generated name, or the Qdrant binding) */
  collection: string
  /** Qdrant: the shared collection's group_id (dataset id / app id) */
  groupId?: string
  /** the physical name on the server where the naming rule is known (pgvector table, Chroma collection, …) */
  physicalName: string
  /** datasets.index_struct as stored (null for annotations or when never indexed) */
  indexStruct: string | null
  /** for the embedding cache: (model_name, provider_name) */
  embeddingModel: string | null
  embeddingProvider: string | null
  collectionBindingId: string | null
  /** dataset_collection_bindings.collection_name of collectionBindingId (null: no binding id, or its row is gone) */
  bindingCollection: string | null
  /** datasets only */
  multimodal: boolean
  /** datasets only: datasets.chunk_structure (Dify's doc_form when set) */
  chunkStructure: string | null
  /**
   * Why Dify cannot open this target at all, or null: a Qdrant dataset whose collection_binding_id has no
   * dataset_collection_bindings row (Dify's Qdrant factory raises "Dataset Collection Binding not found").
   */
  problem: string | null
}

export interface LiveSetDeps {
  db: Db
  profile: DifyProfile
  /** VECTOR_STORE (lower-cased) */
  vectorStore: string
  /** VECTOR_INDEX_NAME_PREFIX */
  namePrefix?: string
}

/** The live-set dependencies of a connected deployment (VECTOR_STORE and VECTOR_INDEX_NAME_PREFIX from its config). */
export function liveSetDeps(db: Db, profile: DifyProfile, config: Config): LiveSetDeps {
  return {
    db,
    profile,
    vectorStore: config.vectorStore,
    // before Dify 1.7.0 the variable does not exist: collections always carry the default prefix
    namePrefix: profile.vectorIndexNamePrefixVariable
      ? config.raw.get('VECTOR_INDEX_NAME_PREFIX')?.value || undefined
      : undefined,
  }
}

export interface TargetFilter {
  datasetIds?: string[]
  appIds?: string[]
  tenantIds?: string[]
}

const PAGE = 500

type K = Kysely<DifyDatabase>

/** The physical collection name where the store's naming rule is known; the collection name otherwise. */
export function physicalCollectionName(storeType: string, collection: string): string {
  if (storeType === 'pgvector') return pgvectorPhysicalTable(collection)
  if (storeType === 'weaviate') return weaviateClassName(collection)
  if (storeType === 'chroma' || storeType === 'elasticsearch' || LOWER_CASE_STORES.has(storeType))
    return collection.toLowerCase()
  return collection
}

// ------------------------------------------------------------------ targets

/** Every high_quality dataset (optionally filtered), ordered by id, with where Dify looks for its vectors. */
export async function* datasetTargets(deps: LiveSetDeps, filter: TargetFilter = {}): AsyncIterable<LiveTarget> {
  const k = deps.db.kysely
  let after: string | null = null
  for (;;) {
    let q = k
      .selectFrom('datasets as d')
      .leftJoin('dataset_collection_bindings as b', 'b.id', 'd.collection_binding_id')
      .select([
        'd.id',
        'd.tenant_id',
        'd.name',
        'd.index_struct',
        'd.embedding_model',
        'd.embedding_model_provider',
        'd.collection_binding_id',
        'b.collection_name as binding_collection',
      ])
      // columns of later releases (profile): before 1.11.0 no dataset is multimodal, before 1.9.0 none has a chunk_structure
      .select(
        deps.profile.multimodalDatasets
          ? sql<boolean | number>`d.is_multimodal`.as('is_multimodal')
          : sql<boolean | number>`false`.as('is_multimodal'),
      )
      .select(
        deps.profile.datasetChunkStructure
          ? sql<string | null>`d.chunk_structure`.as('chunk_structure')
          : sql<string | null>`null`.as('chunk_structure'),
      )
      .where('d.indexing_technique', '=', 'high_quality')
      .where('d.provider', '<>', 'external')
    if (filter.datasetIds?.length) q = q.where('d.id', 'in', filter.datasetIds)
    if (filter.tenantIds?.length) q = q.where('d.tenant_id', 'in', filter.tenantIds)
    if (after !== null) q = q.where('d.id', '>', after)
    const rows = await q.orderBy('d.id').limit(PAGE).execute()
    for (const r of rows) yield datasetTarget(deps, r)
    if (rows.length < PAGE) return
    after = rows[rows.length - 1]!.id
  }
}

function datasetTarget(
  deps: LiveSetDeps,
  r: {
    id: string
    tenant_id: string
    name: string
    index_struct: string | null
    embedding_model: string | null
    embedding_model_provider: string | null
    collection_binding_id: string | null
    is_multimodal: boolean | number
    chunk_structure: string | null
    binding_collection: string | null
  },
): LiveTarget {
  const s = parseIndexStruct(r.index_struct)
  const storeType = s ? s.type.trim().toLowerCase() : deps.vectorStore
  const vt = datasetVectorTarget(
    storeType,
    { id: r.id, indexStruct: r.index_struct, bindingCollectionName: r.binding_collection },
    deps.namePrefix ?? DEFAULT_VECTOR_INDEX_NAME_PREFIX,
  )
  return {
    scope: 'knowledge',
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    storeType,
    storeTypeFrom: s ? 'index_struct' : 'VECTOR_STORE',
    ...vt,
    physicalName: physicalCollectionName(storeType, vt.collection),
    indexStruct: r.index_struct,
    embeddingModel: r.embedding_model,
    embeddingProvider: r.embedding_model_provider,
    collectionBindingId: r.collection_binding_id,
    bindingCollection: r.binding_collection,
    multimodal: !!Number(r.is_multimodal),
    chunkStructure: r.chunk_structure,
    problem:
      storeType === 'qdrant' && r.collection_binding_id && !r.binding_collection
        ? `its collection_binding_id ${r.collection_binding_id} has no dataset_collection_bindings row: Dify cannot open it ("Dataset Collection Binding not found")`
        : null,
  }
}

/**
 * Every app with annotation reply enabled (an app_annotation_settings row whose binding exists), ordered by app id.
 * Annotations always live in VECTOR_STORE: the binding's collection for Qdrant (group_id = app id), otherwise
 * `{prefix}_{app id}_Node`, lower-cased for the lower-case stores.
 */
export async function* annotationTargets(deps: LiveSetDeps, filter: TargetFilter = {}): AsyncIterable<LiveTarget> {
  const k = deps.db.kysely
  const prefix = deps.namePrefix ?? DEFAULT_VECTOR_INDEX_NAME_PREFIX
  const storeType = deps.vectorStore
  let after: string | null = null
  for (;;) {
    let q = k
      .selectFrom('apps as a')
      .innerJoin('app_annotation_settings as s', 's.app_id', 'a.id')
      .innerJoin('dataset_collection_bindings as b', 'b.id', 's.collection_binding_id')
      .select([
        'a.id',
        'a.tenant_id',
        'a.name',
        's.collection_binding_id',
        'b.collection_name',
        'b.model_name',
        'b.provider_name',
      ])
      .where('a.status', '=', 'normal')
    if (filter.appIds?.length) q = q.where('a.id', 'in', filter.appIds)
    if (filter.tenantIds?.length) q = q.where('a.tenant_id', 'in', filter.tenantIds)
    if (after !== null) q = q.where('a.id', '>', after)
    const rows = await q.orderBy('a.id').limit(PAGE).execute()
    for (const r of rows) {
      const vt = annotationTarget(storeType, r.id, { bindingCollectionName: r.collection_name, prefix })
      yield {
        scope: 'annotation',
        id: r.id,
        tenantId: r.tenant_id,
        name: r.name,
        storeType,
        storeTypeFrom: 'VECTOR_STORE',
        ...vt,
        physicalName: physicalCollectionName(storeType, vt.collection),
        indexStruct: null,
        embeddingModel: r.model_name,
        embeddingProvider: r.provider_name,
        collectionBindingId: r.collection_binding_id,
        bindingCollection: r.collection_name,
        multimodal: false,
        chunkStructure: null,
        problem: null,
      }
    }
    if (rows.length < PAGE) return
    after = rows[rows.length - 1]!.id
  }
}

/** One target by dataset id or app id (datasets first); null when neither has vectors (or does not exist). */
export async function findTarget(deps: LiveSetDeps, id: string): Promise<LiveTarget | null> {
  for await (const t of datasetTargets(deps, { datasetIds: [id] })) return t
  for await (const t of annotationTargets(deps, { appIds: [id] })) return t
  return null
}

// ------------------------------------------------------------------ live items

export interface LiveItemOptions {
  /** rows per query (default 500) */
  batchSize?: number
  /**
   * How summaries are paged. Default: on PostgreSQL, when the dataset has more than 4 pages of them, by live segment
   * (see summaryItems); otherwise on the summary id. Tests force either path.
   */
  summariesBySegment?: boolean
  /** How image bindings are paged. Default: by live segment on PostgreSQL, on the binding id elsewhere. */
  imagesBySegment?: boolean
}

/** The live items of one target, in batches; memory bounded by the batch size. */
export async function* liveItems(
  deps: LiveSetDeps,
  target: LiveTarget,
  opts: LiveItemOptions = {},
): AsyncIterable<LiveItem[]> {
  const n = opts.batchSize ?? PAGE
  const k = deps.db.kysely
  if (target.scope === 'annotation') {
    yield* annotationItems(k, target.id, n, deps.profile.annotationText)
    return
  }
  yield* segmentItems(k, target.id, n)
  yield* childItems(k, target.id, n)
  if (target.multimodal) {
    // on PostgreSQL by segment: no Dify index has segment_attachment_bindings.dataset_id first (see imageItems)
    const bySegment = opts.imagesBySegment ?? deps.db.dialect === 'postgres'
    yield* bySegment
      ? byLiveSegment(
          k,
          target.id,
          n,
          (ids) => imageQuery(k, target.id).where('s.id', 'in', ids).orderBy('b.id').execute(),
          imageLiveItems,
        )
      : imageItems(k, target.id, n)
  }
  if (deps.profile.summaryIndex) {
    let bySegment = opts.summariesBySegment
    if (bySegment === undefined) {
      if (deps.db.dialect !== 'postgres') bySegment = false
      else {
        const r = await k
          .selectFrom('document_segment_summaries')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('dataset_id', '=', target.id)
          .executeTakeFirst()
        bySegment = Number(r?.n ?? 0) > 4 * n
      }
    }
    yield* bySegment
      ? byLiveSegment(
          k,
          target.id,
          n,
          (ids) => summaryQuery(k, target.id).where('m.chunk_id', 'in', ids).orderBy('m.id').execute(),
          summaryLiveItems,
        )
      : summaryItems(k, target.id, n)
  }
}

/** live document + live segment conditions, on aliases d (documents) and s (document_segments) */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function liveDocSeg(eb: ExpressionBuilder<any, any>) {
  return eb.and([
    eb('d.indexing_status', '=', 'completed'),
    eb('d.enabled', '=', true),
    eb('d.archived', '=', false),
    eb('s.status', '=', 'completed'),
    eb('s.enabled', '=', true),
  ])
}

async function* segmentItems(k: K, datasetId: string, n: number): AsyncIterable<LiveItem[]> {
  let after: string | null = null
  for (;;) {
    let q = k
      .selectFrom('document_segments as s')
      .innerJoin('documents as d', 'd.id', 's.document_id')
      .select(['s.id', 's.index_node_id', 's.index_node_hash', 's.content', 's.answer', 's.document_id', 'd.doc_form'])
      .where('s.dataset_id', '=', datasetId)
      .where('d.dataset_id', '=', datasetId)
      .where('d.doc_form', '<>', 'hierarchical_model')
      .where('s.index_node_id', 'is not', null)
    q = q.where(liveDocSeg)
    if (after !== null) q = q.where('s.index_node_id', '>', after)
    const rows = await q.orderBy('s.index_node_id').limit(n).execute()
    if (rows.length) {
      yield rows.map((r) => {
        const qa = r.doc_form === 'qa_model'
        const metadata: Record<string, unknown> = {
          doc_id: r.index_node_id,
          doc_hash: r.index_node_hash,
          document_id: r.document_id,
          dataset_id: datasetId,
        }
        if (qa) metadata.answer = r.answer
        return {
          docId: r.index_node_id!,
          text: r.content,
          metadata,
          kind: qa ? 'qa' : 'text',
          documentId: r.document_id,
          datasetId,
        } satisfies LiveItem
      })
    }
    if (rows.length < n) return
    after = rows[rows.length - 1]!.index_node_id
  }
}

async function* childItems(k: K, datasetId: string, n: number): AsyncIterable<LiveItem[]> {
  let after: string | null = null
  for (;;) {
    let q = k
      .selectFrom('child_chunks as c')
      .innerJoin('document_segments as s', 's.id', 'c.segment_id')
      .innerJoin('documents as d', 'd.id', 's.document_id')
      .select(['c.id', 'c.index_node_id', 'c.index_node_hash', 'c.content', 's.document_id'])
      .where('s.dataset_id', '=', datasetId)
      .where('d.dataset_id', '=', datasetId)
      .where('d.doc_form', '=', 'hierarchical_model')
      .where('c.index_node_id', 'is not', null)
    q = q.where(liveDocSeg)
    if (after !== null) q = q.where('c.index_node_id', '>', after)
    const rows = await q.orderBy('c.index_node_id').limit(n).execute()
    if (rows.length) {
      yield rows.map((r) => ({
        docId: r.index_node_id!,
        text: r.content,
        metadata: {
          doc_id: r.index_node_id,
          doc_hash: r.index_node_hash,
          document_id: r.document_id,
          dataset_id: datasetId,
        },
        kind: 'child' as const,
        documentId: r.document_id,
        datasetId,
      }))
    }
    if (rows.length < n) return
    after = rows[rows.length - 1]!.index_node_id
  }
}

/** The image bindings of a dataset's live segments, without paging (aliases b, s, d, u). */
function imageQuery(k: K, datasetId: string) {
  return k
    .selectFrom('segment_attachment_bindings as b')
    .innerJoin('document_segments as s', 's.id', 'b.segment_id')
    .innerJoin('documents as d', 'd.id', 's.document_id')
    .innerJoin('upload_files as u', 'u.id', 'b.attachment_id')
    .select(['b.id', 'u.id as file_id', 'u.name', 's.document_id'])
    .where('b.dataset_id', '=', datasetId)
    .where('s.dataset_id', '=', datasetId)
    .whereRef('b.document_id', '=', 's.document_id')
    .whereRef('b.tenant_id', '=', 's.tenant_id')
    .where(liveDocSeg)
}

type ImageRow = { id: string; file_id: string; name: string; document_id: string }

function imageLiveItems(rows: ImageRow[], datasetId: string): LiveItem[] {
  return rows.map((r) => ({
    docId: String(r.file_id),
    text: r.name,
    metadata: {
      doc_id: String(r.file_id),
      doc_hash: '',
      document_id: r.document_id,
      dataset_id: datasetId,
      doc_type: 'image',
    },
    kind: 'image' as const,
    documentId: r.document_id,
    datasetId,
  }))
}

/**
 * Image bindings paged on the binding id (MySQL; tests). No Dify index starts with the binding's dataset_id, so
 * on PostgreSQL each page walks the primary key of every dataset's bindings (200 000 among 2 million: 142 s).
 */
async function* imageItems(k: K, datasetId: string, n: number): AsyncIterable<LiveItem[]> {
  let after: string | null = null
  for (;;) {
    let q = imageQuery(k, datasetId)
    if (after !== null) q = q.where('b.id', '>', after)
    const rows = await q.orderBy('b.id').limit(n).execute()
    if (rows.length) yield imageLiveItems(rows as ImageRow[], datasetId)
    if (rows.length < n) return
    after = rows[rows.length - 1]!.id
  }
}

/**
 * The live summaries of a dataset, without paging: the newest qualifying summary of each live segment
 * (aliases m = summary, s = segment, d = document).
 */
function summaryQuery(k: K, datasetId: string) {
  return (
    k
      .selectFrom('document_segment_summaries as m')
      .innerJoin('document_segments as s', 's.id', 'm.chunk_id')
      .innerJoin('documents as d', 'd.id', 's.document_id')
      .select([
        'm.id',
        'm.summary_index_node_id',
        'm.summary_index_node_hash',
        'm.summary_content',
        's.id as segment_id',
        's.document_id',
      ])
      .where('m.dataset_id', '=', datasetId)
      .where('s.dataset_id', '=', datasetId)
      .where('m.status', '=', 'completed')
      .where('m.enabled', '=', true)
      .where('m.summary_index_node_id', 'is not', null)
      .where('m.summary_content', 'is not', null)
      // the newest qualifying summary of its chunk only
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('document_segment_summaries as m2')
              .select(sql<number>`1`.as('one'))
              .whereRef('m2.chunk_id', '=', 'm.chunk_id')
              .where('m2.status', '=', 'completed')
              .where('m2.enabled', '=', true)
              .where('m2.summary_index_node_id', 'is not', null)
              .where('m2.summary_content', 'is not', null)
              .where((eb) =>
                eb.or([
                  eb('m2.created_at', '>', eb.ref('m.created_at')),
                  eb.and([eb('m2.created_at', '=', eb.ref('m.created_at')), eb('m2.id', '>', eb.ref('m.id'))]),
                ]),
              ),
          ),
        ),
      )
      .where(liveDocSeg)
  )
}

type SummaryRow = {
  id: string
  summary_index_node_id: string | null
  summary_index_node_hash: string | null
  summary_content: string | null
  segment_id: string
  document_id: string
}

function summaryLiveItems(rows: SummaryRow[], datasetId: string): LiveItem[] {
  const items: LiveItem[] = []
  for (const r of rows) {
    if (!r.summary_content || !r.summary_content.trim()) continue
    items.push({
      docId: r.summary_index_node_id!,
      text: r.summary_content,
      metadata: {
        doc_id: r.summary_index_node_id,
        doc_hash: r.summary_index_node_hash,
        dataset_id: datasetId,
        document_id: r.document_id,
        original_chunk_id: r.segment_id,
        doc_type: 'text',
        is_summary: true,
      },
      kind: 'summary',
      documentId: r.document_id,
      datasetId,
    })
  }
  return items
}

/**
 * Summaries paged on their id. Cheap when the dataset has few summaries (PostgreSQL sorts them per page) and on
 * MySQL (InnoDB's dataset_id index carries the primary key, so it serves filter and order). On PostgreSQL no Dify
 * index serves `dataset_id = ? order by id`: with many summaries each page walks the primary key and filters the
 * other datasets' rows out (200 000 summaries among 2.2 million: 40 s).
 */
async function* summaryItems(k: K, datasetId: string, n: number): AsyncIterable<LiveItem[]> {
  let after: string | null = null
  for (;;) {
    let q = summaryQuery(k, datasetId)
    if (after !== null) q = q.where('m.id', '>', after)
    const rows = await q.orderBy('m.id').limit(n).execute()
    const items = summaryLiveItems(rows as SummaryRow[], datasetId)
    if (items.length) yield items
    if (rows.length < n) return
    after = rows[rows.length - 1]!.id
  }
}

/**
 * Items hanging off the dataset's live segments (summaries, image bindings), driven by the segments: pages of n live
 * segments in (index_node_id, id) order, served by Dify's (index_node_id, dataset_id) index, then the items of those
 * segments by an indexed lookup (summaries: chunk_id; bindings: the segment's primary key, then Dify's
 * (tenant_id, dataset_id, document_id, segment_id) index). Segments without an index_node_id come last, in one pass
 * on the segment id. A page yields the items of n segments (none, or several per segment).
 */
async function* byLiveSegment<R>(
  k: K,
  datasetId: string,
  n: number,
  itemsOf: (segmentIds: string[]) => Promise<R[]>,
  toItems: (rows: R[], datasetId: string) => LiveItem[],
): AsyncIterable<LiveItem[]> {
  const segments = () =>
    k
      .selectFrom('document_segments as s')
      .innerJoin('documents as d', 'd.id', 's.document_id')
      .select(['s.id', 's.index_node_id'])
      .where('s.dataset_id', '=', datasetId)
      .where('d.dataset_id', '=', datasetId)
      .where(liveDocSeg)
  const page = async (segs: Array<{ id: string }>) =>
    segs.length ? toItems(await itemsOf(segs.map((x) => x.id)), datasetId) : []
  let after: { node: string; id: string } | null = null
  for (;;) {
    let q = segments().where('s.index_node_id', 'is not', null)
    // (index_node_id, id) > after, written so the index range starts at after.node
    if (after) {
      const a = after
      q = q
        .where('s.index_node_id', '>=', a.node)
        .where((eb) => eb.or([eb('s.index_node_id', '>', a.node), eb('s.id', '>', a.id)]))
    }
    const segs = await q.orderBy('s.index_node_id').orderBy('s.id').limit(n).execute()
    const items = await page(segs)
    if (items.length) yield items
    if (segs.length < n) break
    const last = segs[segs.length - 1]!
    after = { node: last.index_node_id!, id: last.id }
  }
  let afterId: string | null = null
  for (;;) {
    let q = segments().where('s.index_node_id', 'is', null)
    if (afterId !== null) q = q.where('s.id', '>', afterId)
    const segs = await q.orderBy('s.id').limit(n).execute()
    const items = await page(segs)
    if (items.length) yield items
    if (segs.length < n) return
    afterId = segs[segs.length - 1]!.id
  }
}

/**
 * An app's annotations with the text Dify embeds: from 1.11.3 `MessageAnnotation.question_text` (the question, or the
 * content when the question is empty or NULL: Python `question or content`; api/models/model.py, used by
 * enable_annotation_reply_task and vdb-migrate); before, `question` itself (NULL questions cannot be embedded).
 */
async function* annotationItems(
  k: K,
  appId: string,
  n: number,
  textRule: DifyProfile['annotationText'],
): AsyncIterable<LiveItem[]> {
  let after: string | null = null
  for (;;) {
    let q = k
      .selectFrom('message_annotations as a')
      .select(['a.id', 'a.question', 'a.content'])
      .where('a.app_id', '=', appId)
    if (textRule === 'question') q = q.where('a.question', 'is not', null)
    if (after !== null) q = q.where('a.id', '>', after)
    const rows = await q.orderBy('a.id').limit(n).execute()
    if (rows.length) {
      yield rows.map((r) => ({
        docId: String(r.id),
        text: textRule === 'question' ? r.question : r.question || r.content,
        metadata: { annotation_id: String(r.id), app_id: appId, doc_id: String(r.id) },
        kind: 'annotation' as const,
        documentId: null,
        datasetId: appId,
      }))
    }
    if (rows.length < n) return
    after = rows[rows.length - 1]!.id
  }
}
