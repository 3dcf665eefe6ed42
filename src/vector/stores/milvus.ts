import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import type { Config } from '../../config/schema.js'
import { ConfigError, ConnectError, DifyOpsError } from '../../core/errors.js'
import { milvusHybrid, milvusSettings, safeUrl, type MilvusSettings } from '../config.js'
import { clearCollectionKeys } from '../redis-keys.js'
import {
  type OpenOptions,
  DEFAULT_SCAN_BATCH,
  type CollectionLayout,
  type ScanOptions,
  type SearchHit,
  type SearchOptions,
  type StoreDescription,
  type VectorRecord,
  type VectorStore,
  type VectorTarget,
} from '../store.js'
import { parseVersion } from './elasticsearch.js'

/**
 * Milvus, as Dify's `vdb/milvus/milvus_vector.py` lays it out (dify-vector-stores.md §4): collection = class_prefix
 * as is; fields metadata JSON, page_content VARCHAR(65535), id INT64 auto-id primary key, vector FLOAT_VECTOR(dim)
 * (+ sparse_vector SPARSE_FLOAT_VECTOR fed by the BM25 function text_bm25_emb when MILVUS_ENABLE_HYBRID_SEARCH and
 * the server is ≥ 2.5); vector index HNSW / IP / {M: 8, efConstruction: 64}; consistency Session. The primary key is
 * Milvus's own, so doc_id lives only in metadata: a write first deletes `metadata["doc_id"] in [...]` (a retry never
 * duplicates). Scans page by primary key (`id > last`, as the SDK's query iterator does). Score = IP, kept when >
 * the threshold (Dify's comparison).
 */
export async function open(config: Config, opts: OpenOptions = {}): Promise<MilvusStore> {
  const s = milvusSettings(config.raw)
  const { MilvusClient } = await import('@zilliz/milvus2-sdk-node')
  const client = new MilvusClient({
    address: s.uri,
    ...(s.token ? { token: s.token } : { username: s.user, password: s.password }),
    database: s.database,
    // MILVUS_SECURE (Dify 1.15.0): gRPC over TLS, the server certificate verified (against MILVUS_SERVER_PEM_PATH
    // when given, else the system roots), MILVUS_SERVER_NAME as the name checked
    ...(s.secure
      ? {
          ssl: true,
          tls: {
            ...(s.serverPemPath ? { rootCertPath: s.serverPemPath } : {}),
            ...(s.serverName ? { serverName: s.serverName } : {}),
          },
        }
      : {}),
    logLevel: 'error',
    timeout: 30_000,
  })
  return new MilvusStore(client, s, milvusHybrid(config.raw), opts)
}

const CONTENT_KEY = 'page_content'
const METADATA_KEY = 'metadata'
const VECTOR_KEY = 'vector'
const SPARSE_KEY = 'sparse_vector'
const PK = 'id'
/** Dify inserts 1000 rows at a time */
const INSERT_BATCH = 1000
/** Milvus caps query limit + offset at 16384 */
const MAX_QUERY = 16384
export const DIFY_MILVUS_INDEX = { index_type: 'HNSW', metric_type: 'IP', params: { M: 8, efConstruction: 64 } }

const quote = (s: string) => JSON.stringify(s)

interface Status {
  error_code?: string
  code?: number
  reason?: string
}

export class MilvusStore implements VectorStore {
  readonly type = 'milvus'
  private version: string | undefined
  constructor(
    private readonly client: MilvusClient,
    private readonly settings: MilvusSettings,
    private readonly hybrid: { enabled: boolean; analyzerParams?: string },
    private readonly opts: OpenOptions = {},
  ) {}

  physicalName(target: VectorTarget): string {
    return target.collection
  }

  private async call<T>(f: () => Promise<T>): Promise<T> {
    let r: T
    try {
      r = await f()
    } catch (e) {
      throw mapError(e, this.settings)
    }
    const st = ((r as { status?: Status })?.status ?? (r as Status)) as Status
    if (st && typeof st === 'object' && st.error_code !== undefined && st.error_code !== 'Success') {
      throw new DifyOpsError(`Milvus: ${st.reason || st.error_code}`)
    }
    return r
  }

  private async serverVersion(): Promise<string> {
    if (this.version) return this.version
    const r = await this.call(() => this.client.getVersion())
    const v = String(r.version ?? '').replace(/^v/, '')
    if (!/^\d/.test(v)) {
      this.version = v || 'unknown'
      return this.version
    }
    const [maj, min] = parseVersion(v)
    if (maj < 2 || (maj === 2 && min < 2)) {
      throw new ConfigError(
        `Milvus at ${safeUrl(this.settings.uri)} is version ${v}; Dify's layout needs JSON fields (Milvus 2.2 or later).`,
        {
          hint: 'Upgrade Milvus (Dify ships 2.5/2.6).',
        },
      )
    }
    this.version = v
    return v
  }

  async describe(): Promise<StoreDescription> {
    const v = await this.serverVersion()
    return {
      type: this.type,
      serverVersion: `Milvus ${v}`,
      collectionLayout:
        'one collection per dataset: class_prefix as is, auto-id INT64 pk, doc_id inside metadata JSON, HNSW IP',
      location: safeUrl(this.settings.uri),
    }
  }

  async exists(target: VectorTarget): Promise<boolean> {
    await this.serverVersion()
    const r = await this.call(() => this.client.hasCollection({ collection_name: target.collection }))
    return Boolean(r.value)
  }

  private hybridFor(version: string): boolean {
    if (!this.hybrid.enabled) return false
    if (/zilliz/i.test(version)) return true
    const [maj, min] = parseVersion(version)
    return maj > 2 || (maj === 2 && min >= 5)
  }

  async ensureCollection(target: VectorTarget, dim: number): Promise<'created' | 'exists'> {
    const name = target.collection
    const have = await this.layout(target)
    if (have) {
      if (have.dimension !== dim || have.metric !== 'ip') {
        throw new ConfigError(
          `Milvus collection ${name} already exists with ${have.metric} vectors of dimension ${have.dimension}, not IP ${dim}.`,
          {
            hint: 'The collection belongs to another embedding model; choose another target or drop it first.',
          },
        )
      }
      return 'exists'
    }
    const hybrid = this.hybridFor(await this.serverVersion())
    const content: Record<string, unknown> = { name: CONTENT_KEY, data_type: 'VarChar', max_length: 65535 }
    if (hybrid) {
      content.enable_analyzer = true
      if (this.hybrid.analyzerParams) {
        try {
          content.analyzer_params = JSON.parse(this.hybrid.analyzerParams)
        } catch {
          throw new ConfigError('MILVUS_ANALYZER_PARAMS is not valid JSON.', {
            hint: 'Set it to a JSON object, e.g. {"type": "chinese"}, or unset it.',
          })
        }
      }
    }
    // Dify's field order: metadata, page_content, id, vector[, sparse_vector]
    const fields: Record<string, unknown>[] = [
      { name: METADATA_KEY, data_type: 'JSON' },
      content,
      { name: PK, data_type: 'Int64', is_primary_key: true, autoID: true },
      { name: VECTOR_KEY, data_type: 'FloatVector', dim },
    ]
    if (hybrid) fields.push({ name: SPARSE_KEY, data_type: 'SparseFloatVector' })
    const index_params: Record<string, unknown>[] = [{ field_name: VECTOR_KEY, ...DIFY_MILVUS_INDEX }]
    if (hybrid) index_params.push({ field_name: SPARSE_KEY, index_type: 'AUTOINDEX', metric_type: 'BM25' })
    await this.call(() =>
      this.client.createCollection({
        collection_name: name,
        fields,
        ...(hybrid
          ? {
              functions: [
                {
                  name: 'text_bm25_emb',
                  type: 1 /* BM25 */,
                  input_field_names: [CONTENT_KEY],
                  output_field_names: [SPARSE_KEY],
                  params: {},
                },
              ],
            }
          : {}),
        index_params,
        consistency_level: 'Session',
      } as never),
    )
    await clearCollectionKeys(this.opts.redis, 'milvus', name)
    return 'created'
  }

  async finishBulkLoad(): Promise<void> {}

  async layout(target: VectorTarget): Promise<CollectionLayout | null> {
    if (!(await this.exists(target))) return null
    const d = await this.call(() => this.client.describeCollection({ collection_name: target.collection }))
    const idx = await this.call(() => this.client.describeIndex({ collection_name: target.collection }))
    const fields = d.schema.fields.map((f) => ({
      name: f.name,
      dataType: f.data_type,
      isPrimaryKey: Boolean(f.is_primary_key),
      autoId: Boolean(f.autoID),
      params: Object.fromEntries((f.type_params ?? []).map((p) => [p.key, p.value])),
    }))
    const indexes = (idx.index_descriptions ?? []).map((i) => ({
      field: i.field_name,
      params: Object.fromEntries((i.params ?? []).map((p) => [p.key, p.value])),
    }))
    const vecIndex = indexes.find((i) => i.field === VECTOR_KEY)
    const dimParam = fields.find((f) => f.name === VECTOR_KEY)?.params.dim
    return {
      name: target.collection,
      dimension: dimParam === undefined ? null : Number(dimParam),
      metric: String(vecIndex?.params.metric_type ?? '').toLowerCase(),
      details: {
        fields,
        indexes,
        functions: (d.schema.functions ?? []).map((f) => ({
          name: f.name,
          type: f.type,
          input: f.input_field_names,
          output: f.output_field_names,
        })),
        consistencyLevel: d.consistency_level,
      },
    }
  }

  private docIdFilter(docIds: string[]): string {
    return `${METADATA_KEY}["doc_id"] in [${docIds.map(quote).join(', ')}]`
  }

  async upsert(target: VectorTarget, batch: VectorRecord[]): Promise<void> {
    const name = target.collection
    for (let i = 0; i < batch.length; i += INSERT_BATCH) {
      const part = batch.slice(i, i + INSERT_BATCH)
      await this.call(() =>
        this.client.delete({ collection_name: name, filter: this.docIdFilter(part.map((r) => r.docId)) }),
      )
      const data = part.map((r) => ({
        [CONTENT_KEY]: r.text,
        [VECTOR_KEY]: r.vector,
        [METADATA_KEY]: { ...r.metadata, doc_id: r.docId },
      }))
      await this.call(() => this.client.insert({ collection_name: name, data }))
    }
  }

  async *scan(target: VectorTarget, opts: ScanOptions = {}): AsyncIterable<VectorRecord[]> {
    if (!(await this.exists(target))) return
    const limit = Math.min(opts.batchSize ?? DEFAULT_SCAN_BATCH, MAX_QUERY)
    let last: string | undefined
    for (;;) {
      const r = await this.call(() =>
        this.client.query({
          collection_name: target.collection,
          filter: last === undefined ? `${PK} >= ${Number.MIN_SAFE_INTEGER}` : `${PK} > ${last}`,
          output_fields: [PK, CONTENT_KEY, METADATA_KEY, VECTOR_KEY],
          limit,
          consistency_level: 'Session',
        } as never),
      )
      const rows = (r.data ?? []) as Array<Record<string, unknown>>
      if (!rows.length) return
      // pages follow the primary key, as Milvus's query iterator does
      rows.sort((a, b) => cmpId(String(a[PK]), String(b[PK])))
      yield rows.map((row) => {
        const metadata = parseMeta(row[METADATA_KEY])
        const id = String(row[PK])
        return {
          id,
          docId: typeof metadata.doc_id === 'string' ? metadata.doc_id : id,
          text: String(row[CONTENT_KEY] ?? ''),
          metadata,
          vector: Array.from(row[VECTOR_KEY] as number[], Math.fround),
        }
      })
      if (rows.length < limit) return
      last = String(rows[rows.length - 1]![PK])
    }
  }

  async count(target: VectorTarget): Promise<number> {
    if (!(await this.exists(target))) return 0
    const r = await this.call(() => this.client.count({ collection_name: target.collection, expr: '' } as never))
    return Number(r.data)
  }

  async search(target: VectorTarget, vector: number[], k: number, opts: SearchOptions = {}): Promise<SearchHit[]> {
    if (!(await this.exists(target))) return []
    const filter = opts.documentIds?.length
      ? `${METADATA_KEY}["document_id"] in [${opts.documentIds.map(quote).join(', ')}]`
      : ''
    const r = await this.call(() =>
      this.client.search({
        collection_name: target.collection,
        data: [vector],
        anns_field: VECTOR_KEY,
        limit: k,
        output_fields: [CONTENT_KEY, METADATA_KEY],
        filter,
        consistency_level: 'Session',
      } as never),
    )
    const rows = (r.results ?? []) as Array<Record<string, unknown>>
    const t = opts.scoreThreshold
    return rows
      .filter((h) => t === undefined || Number(h.score) > t) // Dify keeps distance > threshold
      .map((h) => {
        const score = Number(h.score)
        const meta: Record<string, unknown> = { ...parseMeta(h[METADATA_KEY]), score }
        const id = String(h[PK] ?? h.id)
        return {
          id,
          docId: typeof meta.doc_id === 'string' ? meta.doc_id : id,
          text: String(h[CONTENT_KEY] ?? ''),
          metadata: meta,
          score,
        }
      })
  }

  async deleteByDocIds(target: VectorTarget, docIds: string[]): Promise<void> {
    if (!docIds.length || !(await this.exists(target))) return
    for (let i = 0; i < docIds.length; i += INSERT_BATCH) {
      await this.call(() =>
        this.client.delete({
          collection_name: target.collection,
          filter: this.docIdFilter(docIds.slice(i, i + INSERT_BATCH)),
        }),
      )
    }
  }

  async deleteTarget(target: VectorTarget): Promise<void> {
    if (await this.exists(target))
      await this.call(() => this.client.dropCollection({ collection_name: target.collection }))
    await clearCollectionKeys(this.opts.redis, 'milvus', target.collection)
  }

  async close(): Promise<void> {
    await this.client.closeConnection()
  }
}

function cmpId(a: string, b: string): number {
  const x = BigInt(a)
  const y = BigInt(b)
  return x < y ? -1 : x > y ? 1 : 0
}

function parseMeta(v: unknown): Record<string, unknown> {
  if (v && typeof v === 'object' && !Buffer.isBuffer(v)) return v as Record<string, unknown>
  if (typeof v === 'string' || Buffer.isBuffer(v)) return JSON.parse(v.toString()) as Record<string, unknown>
  return {}
}

function mapError(e: unknown, s: MilvusSettings): Error {
  if (e instanceof DifyOpsError) return e
  const err = e as Error & { code?: number; details?: string; reason?: string; error_code?: string }
  const where = safeUrl(s.uri)
  if (err.code === 14 || err.code === 4 || /UNAVAILABLE|ECONNREFUSED|DEADLINE_EXCEEDED/.test(err.message ?? '')) {
    return new ConnectError(`Cannot connect to Milvus at ${where}: ${err.details ?? err.message}.`, {
      hint: 'Check MILVUS_URI.',
      cause: e,
    })
  }
  if (err.code === 16 || /UNAUTHENTICATED|auth/i.test(err.message ?? '')) {
    return new ConfigError(`Milvus at ${where} refused the credentials.`, {
      hint: 'Check MILVUS_USER/MILVUS_PASSWORD or MILVUS_TOKEN.',
      cause: e,
    })
  }
  return new DifyOpsError(`Milvus: ${err.reason ?? err.details ?? err.message ?? String(e)}`, { cause: e })
}
