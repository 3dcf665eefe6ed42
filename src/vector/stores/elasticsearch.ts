import type { Client } from '@elastic/elasticsearch'
import type { Config } from '../../config/schema.js'
import { ConfigError, DifyOpsError } from '../../core/errors.js'
import { elasticsearchSettings, safeUrl, type ElasticsearchSettings } from '../config.js'
import { clearCollectionKeys } from '../redis-keys.js'
import { engineError, httpStatus, sourceToRecord, type SegmentSource } from './search-engine.js'
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
 * Elasticsearch, as Dify's `vdb/elasticsearch/elasticsearch_vector.py` lays it out (dify-vector-stores.md §4):
 * one index per dataset named class_prefix lower-cased; mapping page_content text, vector dense_vector
 * {dims, index: true, similarity: cosine}, metadata object with doc_id and document_id keyword; _id = doc_id.
 * Dify refuses servers below 8.0.0, and so do we. Speaks through @elastic/elasticsearch 8.x (a 9.x client's
 * compatible-with=9 headers are rejected by 8.x servers).
 */
export async function open(config: Config, opts: OpenOptions = {}): Promise<ElasticsearchStore> {
  const s = elasticsearchSettings(config.raw)
  const { Client } = await import('@elastic/elasticsearch')
  const client = new Client({
    node: s.node,
    ...(s.apiKey
      ? { auth: { apiKey: s.apiKey } }
      : s.username
        ? { auth: { username: s.username, password: s.password ?? '' } }
        : {}),
    requestTimeout: s.requestTimeoutMs,
    maxRetries: 3,
    ...(s.node.startsWith('https:')
      ? {
          tls: {
            rejectUnauthorized: s.verifyCerts,
            ...(s.caCerts ? { ca: (await import('node:fs')).readFileSync(s.caCerts) } : {}),
          },
        }
      : {}),
  })
  return new ElasticsearchStore(client, s, opts)
}

const CONTENT_KEY = 'page_content'
const METADATA_KEY = 'metadata'
const VECTOR_KEY = 'vector'
const BULK_BATCH = 500
const PIT_KEEP_ALIVE = '2m'

/** The mapping Dify's create_collection sends (indices.create `mappings`). */
export function difyElasticsearchMappings(dim: number) {
  return {
    properties: {
      [CONTENT_KEY]: { type: 'text' as const },
      [VECTOR_KEY]: { type: 'dense_vector' as const, dims: dim, index: true, similarity: 'cosine' as const },
      [METADATA_KEY]: {
        type: 'object' as const,
        properties: { doc_id: { type: 'keyword' as const }, document_id: { type: 'keyword' as const } },
      },
    },
  }
}

export function parseVersion(v: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(v)
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [0, 0, 0]
}

export class ElasticsearchStore implements VectorStore {
  readonly type: string = 'elasticsearch'
  private version: string | undefined
  constructor(
    private readonly client: Client,
    private readonly settings: ElasticsearchSettings,
    private readonly opts: OpenOptions = {},
  ) {}

  physicalName(target: VectorTarget): string {
    return target.collection.toLowerCase()
  }

  private async call<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f()
    } catch (e) {
      throw mapError(e, this.settings)
    }
  }

  /** the server version; a ConfigError below 8.0.0 (Dify's own check) */
  private async checkedVersion(): Promise<string> {
    if (this.version) return this.version
    const info = await this.call(() => this.client.info())
    const v = info.version.number
    if (parseVersion(v)[0] < 8) {
      throw new ConfigError(
        `Elasticsearch at ${safeUrl(this.settings.node)} is version ${v}; Dify needs 8.0.0 or later.`,
        {
          hint: 'Upgrade Elasticsearch to 8.x (Dify ships 8.14).',
        },
      )
    }
    this.version = v
    return v
  }

  async describe(): Promise<StoreDescription> {
    const v = await this.checkedVersion()
    return {
      type: this.type,
      serverVersion: `Elasticsearch ${v}`,
      collectionLayout: 'one index per dataset: class_prefix lower-cased, _id = metadata.doc_id, dense_vector cosine',
      location: safeUrl(this.settings.node),
    }
  }

  async exists(target: VectorTarget): Promise<boolean> {
    await this.checkedVersion()
    return this.call(() => this.client.indices.exists({ index: this.physicalName(target) }))
  }

  async ensureCollection(target: VectorTarget, dim: number): Promise<'created' | 'exists'> {
    const index = this.physicalName(target)
    const have = await this.layout(target)
    if (have) {
      if (have.dimension !== dim || have.metric !== 'cosine') {
        throw new ConfigError(
          `Elasticsearch index ${index} already exists with ${have.metric} vectors of dimension ${have.dimension}, not cosine ${dim}.`,
          {
            hint: 'The index belongs to another embedding model; choose another target or drop it first.',
          },
        )
      }
      return 'exists'
    }
    await this.call(() => this.client.indices.create({ index, mappings: difyElasticsearchMappings(dim) }))
    await clearCollectionKeys(this.opts.redis, 'elasticsearch', target.collection)
    return 'created'
  }

  async finishBulkLoad(): Promise<void> {}

  async layout(target: VectorTarget): Promise<CollectionLayout | null> {
    await this.checkedVersion()
    const index = this.physicalName(target)
    let res: Record<string, { mappings: { properties?: Record<string, Record<string, unknown>> } }>
    try {
      res = (await this.client.indices.getMapping({ index })) as never
    } catch (e) {
      if (httpStatus(e) === 404) return null
      throw mapError(e, this.settings)
    }
    const props = Object.values(res)[0]?.mappings.properties ?? {}
    const vec = props[VECTOR_KEY] ?? {}
    return {
      name: index,
      dimension: typeof vec.dims === 'number' ? vec.dims : null,
      metric: String(vec.similarity ?? ''),
      details: { properties: props },
    }
  }

  async upsert(target: VectorTarget, batch: VectorRecord[]): Promise<void> {
    const index = this.physicalName(target)
    for (let i = 0; i < batch.length; i += BULK_BATCH) {
      const operations: unknown[] = []
      for (const r of batch.slice(i, i + BULK_BATCH)) {
        operations.push({ index: { _index: index, _id: r.docId } })
        operations.push({
          [CONTENT_KEY]: r.text,
          [VECTOR_KEY]: r.vector,
          [METADATA_KEY]: { ...r.metadata, doc_id: r.docId },
        })
      }
      const res = await this.call(() => this.client.bulk({ operations, refresh: true }))
      if (res.errors) {
        const first = res.items.map((it) => Object.values(it)[0]).find((x) => x?.error)
        throw new DifyOpsError(
          `Elasticsearch rejected part of a bulk write to ${index}: ${first?.error?.type}: ${first?.error?.reason}`,
        )
      }
    }
  }

  async *scan(target: VectorTarget, opts: ScanOptions = {}): AsyncIterable<VectorRecord[]> {
    const size = opts.batchSize ?? DEFAULT_SCAN_BATCH
    const index = this.physicalName(target)
    let pitId: string
    try {
      pitId = (await this.client.openPointInTime({ index, keep_alive: PIT_KEEP_ALIVE })).id
    } catch (e) {
      if (httpStatus(e) === 404) return
      throw mapError(e, this.settings)
    }
    try {
      let after: unknown[] | undefined
      for (;;) {
        const res = await this.call(() =>
          this.client.search<SegmentSource>({
            pit: { id: pitId, keep_alive: PIT_KEEP_ALIVE },
            size,
            sort: [{ _shard_doc: 'asc' }],
            ...(after ? { search_after: after as never } : {}),
            // the vector is asked for by name: ES 9 leaves dense vectors out of _source unless asked
            _source: [CONTENT_KEY, METADATA_KEY, VECTOR_KEY],
            track_total_hits: false,
          }),
        )
        if (res.pit_id) pitId = res.pit_id
        const hits = res.hits.hits
        if (hits.length) yield hits.map((h) => sourceToRecord(h._id!, h._source ?? {}))
        if (hits.length < size) return
        after = hits[hits.length - 1]!.sort as unknown[]
      }
    } finally {
      await this.client.closePointInTime({ id: pitId }).catch(() => undefined)
    }
  }

  async count(target: VectorTarget): Promise<number> {
    try {
      return (await this.client.count({ index: this.physicalName(target) })).count
    } catch (e) {
      if (httpStatus(e) === 404) return 0
      throw mapError(e, this.settings)
    }
  }

  async search(target: VectorTarget, vector: number[], k: number, opts: SearchOptions = {}): Promise<SearchHit[]> {
    const knn: Record<string, unknown> = {
      field: VECTOR_KEY,
      query_vector: vector,
      k,
      num_candidates: Math.ceil(k * 1.5),
    }
    if (opts.documentIds?.length) knn.filter = { terms: { 'metadata.document_id': opts.documentIds } }
    let res: Awaited<ReturnType<Client['search']>>
    try {
      res = await this.client.search<SegmentSource>({ index: this.physicalName(target), knn: knn as never, size: k })
    } catch (e) {
      if (httpStatus(e) === 404) return []
      throw mapError(e, this.settings)
    }
    const t = opts.scoreThreshold
    return res.hits.hits
      .filter((h) => t === undefined || (h._score ?? 0) >= t) // Dify keeps score >= threshold
      .map((h) => {
        const src = (h._source ?? {}) as SegmentSource
        const score = h._score ?? 0
        const meta: Record<string, unknown> = { ...src.metadata, score }
        return {
          id: h._id!,
          docId: String(meta.doc_id ?? h._id),
          text: String(src.page_content ?? ''),
          metadata: meta,
          score,
        }
      })
  }

  async deleteByDocIds(target: VectorTarget, docIds: string[]): Promise<void> {
    if (!docIds.length) return
    const index = this.physicalName(target)
    if (!(await this.exists(target))) return
    for (let i = 0; i < docIds.length; i += BULK_BATCH) {
      const operations = docIds.slice(i, i + BULK_BATCH).map((id) => ({ delete: { _index: index, _id: id } }))
      const res = await this.call(() => this.client.bulk({ operations, refresh: true }))
      const bad = res.items.map((it) => Object.values(it)[0]).find((x) => x?.error && x.status !== 404)
      if (bad)
        throw new DifyOpsError(`Elasticsearch refused a delete in ${index}: ${bad.error?.type}: ${bad.error?.reason}`)
    }
  }

  async deleteTarget(target: VectorTarget): Promise<void> {
    await this.call(() => this.client.indices.delete({ index: this.physicalName(target), ignore_unavailable: true }))
    await clearCollectionKeys(this.opts.redis, 'elasticsearch', target.collection)
  }

  async close(): Promise<void> {
    await this.client.close()
  }
}

function mapError(e: unknown, s: ElasticsearchSettings): Error {
  return engineError(e, {
    product: 'Elasticsearch',
    where: safeUrl(s.node),
    authHint: 'Check ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD (or ELASTICSEARCH_API_KEY).',
    connectHint: 'Check ELASTICSEARCH_HOST and ELASTICSEARCH_PORT.',
  })
}
