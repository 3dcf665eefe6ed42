import type { QdrantClient } from '@qdrant/js-client-rest'
import type { Config } from '../../config/schema.js'
import { ConfigError, ConnectError, DifyOpsError, UsageError } from '../../core/errors.js'
import { qdrantSettings, safeUrl, type QdrantSettings } from '../config.js'
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

/**
 * Qdrant, as Dify's `vdb/qdrant/qdrant_vector.py` lays it out (dify-vector-stores.md §4 "Qdrant"): a collection
 * shared by every dataset bound to the same embedding model (dataset_collection_bindings.collection_name),
 * tenants separated by payload `group_id`; point id = metadata.doc_id; payload {page_content, metadata, group_id};
 * one unnamed Cosine vector; HNSW m 0 / payload_m 16 (per-group graphs only); payload indexes group_id,
 * metadata.doc_id, metadata.document_id (keyword) and page_content (multilingual full text).
 * Speaks only the REST API of Qdrant 1.8 (the server Dify ships): no /points/query.
 */
export async function open(config: Config, opts: OpenOptions = {}): Promise<QdrantStore> {
  const s = qdrantSettings(config.raw)
  const { QdrantClient } = await import('@qdrant/js-client-rest')
  const client = new QdrantClient({ url: s.url, apiKey: s.apiKey, timeout: s.timeoutMs, checkCompatibility: false })
  const rf = Number(config.raw.get('QDRANT_REPLICATION_FACTOR')?.value || '1')
  return new QdrantStore(client, s, Number.isInteger(rf) && rf > 0 ? rf : 1, opts)
}

/** Dify's payload keys (core/rag/datasource/vdb/field.py) */
const GROUP_KEY = 'group_id'
const CONTENT_KEY = 'page_content'
const METADATA_KEY = 'metadata'
/** Dify's batch size for upserts is 64; the end state does not depend on it */
const UPSERT_BATCH = 256

export const DIFY_QDRANT_HNSW = {
  m: 0,
  payload_m: 16,
  ef_construct: 100,
  full_scan_threshold: 10000,
  max_indexing_threads: 0,
  on_disk: false,
}
export const DIFY_QDRANT_PAYLOAD_INDEXES: Array<{ field_name: string; field_schema: unknown }> = [
  { field_name: GROUP_KEY, field_schema: 'keyword' },
  { field_name: 'metadata.doc_id', field_schema: 'keyword' },
  { field_name: 'metadata.document_id', field_schema: 'keyword' },
  {
    field_name: CONTENT_KEY,
    field_schema: { type: 'text', tokenizer: 'multilingual', min_token_len: 2, max_token_len: 20, lowercase: true },
  },
]

export class QdrantStore implements VectorStore {
  readonly type = 'qdrant'
  constructor(
    private readonly client: QdrantClient,
    private readonly settings: QdrantSettings,
    private readonly replicationFactor: number,
    private readonly opts: OpenOptions = {},
  ) {}

  physicalName(target: VectorTarget): string {
    return target.collection
  }

  private group(target: VectorTarget): string {
    if (!target.groupId) {
      throw new UsageError(
        `A Qdrant target needs the group_id (dataset or app id) as well as the collection ${target.collection}.`,
      )
    }
    return target.groupId
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private groupFilter(target: VectorTarget, extra: any[] = []): any {
    return { must: [{ key: GROUP_KEY, match: { value: this.group(target) } }, ...extra] }
  }

  private async call<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f()
    } catch (e) {
      throw mapError(e, this.settings)
    }
  }

  /** null when the collection is missing */
  private async info(name: string): Promise<Awaited<ReturnType<QdrantClient['getCollection']>> | null> {
    try {
      return await this.client.getCollection(name)
    } catch (e) {
      if (status(e) === 404) return null
      throw mapError(e, this.settings)
    }
  }

  async describe(): Promise<StoreDescription> {
    const v = await this.call(() => this.client.versionInfo())
    return {
      type: this.type,
      serverVersion: `Qdrant ${v.version}`,
      collectionLayout:
        'collections shared per embedding model (dataset_collection_bindings), datasets separated by payload group_id',
      location: safeUrl(this.settings.url),
    }
  }

  async exists(target: VectorTarget): Promise<boolean> {
    return (await this.count(target)) > 0
  }

  async ensureCollection(target: VectorTarget, dim: number): Promise<'created' | 'exists'> {
    const name = target.collection
    this.group(target)
    const info = await this.info(name)
    if (info) {
      const vectors = info.config.params.vectors as { size?: number; distance?: string } | undefined
      if (!vectors || typeof vectors.size !== 'number') {
        throw new ConfigError(`Qdrant collection ${name} uses named vectors; Dify uses one unnamed vector.`, {
          hint: 'Choose another target collection.',
        })
      }
      if (vectors.size !== dim || vectors.distance !== 'Cosine') {
        throw new ConfigError(
          `Qdrant collection ${name} already exists with ${vectors.distance} vectors of dimension ${vectors.size}, not Cosine ${dim}.`,
          {
            hint: 'The shared collection belongs to another embedding model; check the dataset collection binding.',
          },
        )
      }
      // Dify's add-qdrant-index back-fills payload indexes; creating a missing one is safe on a shared collection
      const have = new Set(Object.keys(info.payload_schema ?? {}))
      for (const idx of DIFY_QDRANT_PAYLOAD_INDEXES) {
        if (!have.has(idx.field_name))
          await this.call(() => this.client.createPayloadIndex(name, { ...idx, wait: true } as never))
      }
      return 'exists'
    }
    await this.call(() =>
      this.client.createCollection(name, {
        vectors: { size: dim, distance: 'Cosine' },
        hnsw_config: DIFY_QDRANT_HNSW,
        replication_factor: this.replicationFactor,
        timeout: Math.round(this.settings.timeoutMs / 1000),
      }),
    )
    for (const idx of DIFY_QDRANT_PAYLOAD_INDEXES) {
      await this.call(() => this.client.createPayloadIndex(name, { ...idx, wait: true } as never))
    }
    await clearCollectionKeys(this.opts.redis, 'qdrant', name)
    return 'created'
  }

  async finishBulkLoad(): Promise<void> {}

  async layout(target: VectorTarget): Promise<CollectionLayout | null> {
    const info = await this.info(target.collection)
    if (!info) return null
    const vectors = info.config.params.vectors as { size?: number; distance?: string }
    return {
      name: target.collection,
      dimension: vectors?.size ?? null,
      metric: String(vectors?.distance ?? '').toLowerCase(),
      details: {
        hnswConfig: info.config.hnsw_config,
        replicationFactor: info.config.params.replication_factor,
        payloadSchema: Object.fromEntries(
          Object.entries(info.payload_schema ?? {}).map(([k, v]) => [
            k,
            { dataType: v?.data_type, params: v?.params ?? null },
          ]),
        ),
      },
    }
  }

  async upsert(target: VectorTarget, batch: VectorRecord[]): Promise<void> {
    const group = this.group(target)
    for (let i = 0; i < batch.length; i += UPSERT_BATCH) {
      const points = batch.slice(i, i + UPSERT_BATCH).map((r) => ({
        id: r.docId,
        vector: r.vector,
        payload: { [CONTENT_KEY]: r.text, [METADATA_KEY]: { ...r.metadata, doc_id: r.docId }, [GROUP_KEY]: group },
      }))
      await this.call(() => this.client.upsert(target.collection, { wait: true, points }))
    }
  }

  async *scan(target: VectorTarget, opts: ScanOptions = {}): AsyncIterable<VectorRecord[]> {
    const limit = opts.batchSize ?? DEFAULT_SCAN_BATCH
    const filter = this.groupFilter(target)
    let offset: string | number | undefined
    for (;;) {
      let page: Awaited<ReturnType<QdrantClient['scroll']>>
      try {
        page = await this.client.scroll(target.collection, {
          filter,
          limit,
          offset,
          with_payload: true,
          with_vector: true,
        })
      } catch (e) {
        if (status(e) === 404) return
        throw mapError(e, this.settings)
      }
      if (page.points.length) {
        yield page.points.map((p) => {
          const payload = (p.payload ?? {}) as Record<string, unknown>
          const metadata = (payload[METADATA_KEY] ?? {}) as Record<string, unknown>
          return {
            id: String(p.id),
            docId: typeof metadata.doc_id === 'string' ? metadata.doc_id : String(p.id),
            text: String(payload[CONTENT_KEY] ?? ''),
            metadata,
            vector: Array.from(p.vector as number[], Math.fround),
          }
        })
      }
      const next = page.next_page_offset
      if (next === null || next === undefined) return
      offset = next as string | number
    }
  }

  async count(target: VectorTarget): Promise<number> {
    try {
      const r = await this.client.count(target.collection, { filter: this.groupFilter(target), exact: true })
      return r.count
    } catch (e) {
      if (status(e) === 404) return 0
      throw mapError(e, this.settings)
    }
  }

  async search(target: VectorTarget, vector: number[], k: number, opts: SearchOptions = {}): Promise<SearchHit[]> {
    const extra = opts.documentIds?.length ? [{ key: 'metadata.document_id', match: { any: opts.documentIds } }] : []
    let res: Awaited<ReturnType<QdrantClient['search']>>
    try {
      // Dify sends score_threshold (0.0 by default) to the server, then keeps score > threshold
      res = await this.client.search(target.collection, {
        vector,
        filter: this.groupFilter(target, extra),
        limit: k,
        with_payload: true,
        with_vector: true,
        ...(opts.scoreThreshold !== undefined ? { score_threshold: opts.scoreThreshold } : {}),
      })
    } catch (e) {
      if (status(e) === 404) return []
      throw mapError(e, this.settings)
    }
    const t = opts.scoreThreshold
    return res
      .filter((p) => t === undefined || p.score > t)
      .map((p) => {
        const payload = (p.payload ?? {}) as Record<string, unknown>
        const meta = (payload[METADATA_KEY] ?? {}) as Record<string, unknown>
        return {
          id: String(p.id),
          docId: String(meta.doc_id ?? p.id),
          text: String(payload[CONTENT_KEY] ?? ''),
          metadata: { ...meta, score: p.score },
          score: p.score,
        }
      })
  }

  async deleteByDocIds(target: VectorTarget, docIds: string[]): Promise<void> {
    if (!docIds.length) return
    try {
      await this.client.delete(target.collection, {
        wait: true,
        filter: this.groupFilter(target, [{ key: 'metadata.doc_id', match: { any: docIds } }]),
      })
    } catch (e) {
      if (status(e) !== 404) throw mapError(e, this.settings)
    }
  }

  /** Dify's delete(): the group's points only — never the shared collection */
  async deleteTarget(target: VectorTarget): Promise<void> {
    try {
      await this.client.delete(target.collection, { wait: true, filter: this.groupFilter(target) })
    } catch (e) {
      if (status(e) !== 404) throw mapError(e, this.settings)
    }
    await clearCollectionKeys(this.opts.redis, 'qdrant', target.collection)
  }

  async close(): Promise<void> {}
}

function status(e: unknown): number | undefined {
  return (e as { status?: number }).status
}

function mapError(e: unknown, s: QdrantSettings): Error {
  if (e instanceof DifyOpsError) return e
  const err = e as Error & { status?: number; data?: { status?: { error?: string } }; cause?: { code?: string } }
  const where = safeUrl(s.url)
  if (err.status === 401 || err.status === 403) {
    return new ConfigError(`Qdrant at ${where} refused the request (HTTP ${err.status}).`, {
      hint: 'Check QDRANT_API_KEY.',
      cause: e,
    })
  }
  if (!err.status && (/fetch failed|ECONNREFUSED|ENOTFOUND|timeout/i.test(err.message) || err.cause?.code)) {
    return new ConnectError(`Cannot connect to Qdrant at ${where}: ${err.message}.`, {
      hint: 'Check QDRANT_URL.',
      cause: e,
    })
  }
  const detail = err.data?.status?.error ?? err.message
  return new DifyOpsError(`Qdrant${err.status ? ` (HTTP ${err.status})` : ''}: ${detail}`, { cause: e })
}
