import { randomUUID } from 'node:crypto'
import type { Client } from '@opensearch-project/opensearch'
import type { Config } from '../../config/schema.js'
import { ConfigError, DifyOpsError } from '../../core/errors.js'
import { opensearchSettings, safeUrl, type OpensearchSettings } from '../config.js'
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
import { parseVersion } from './elasticsearch.js'

/**
 * OpenSearch, as Dify's `vdb/opensearch/opensearch_vector.py` lays it out (dify-vector-stores.md §4): index =
 * class_prefix lower-cased with settings index.knn = true; page_content text, vector knn_vector {dimension, method
 * hnsw / l2 / faiss, ef_construction 64, m 8}, metadata object with doc_id and document_id keyword. Dify gives each
 * document a random `_id` (uuid4 hex), so a write first resolves and deletes the documents holding the same
 * metadata.doc_id (a retry never duplicates). Scans use a point in time (`/_search/point_in_time`, 2.4+) and
 * search_after, or a scroll on older servers. Score = OpenSearch's l2 score 1/(1+d²), kept when ≥ the threshold.
 */
export async function open(config: Config, opts: OpenOptions = {}): Promise<OpensearchStore> {
  const s = opensearchSettings(config.raw)
  const { Client } = await import('@opensearch-project/opensearch')
  const client = new Client({
    node: s.node,
    ...(s.username ? { auth: { username: s.username, password: s.password ?? '' } } : {}),
    ...(s.node.startsWith('https:') ? { ssl: { rejectUnauthorized: s.verifyCerts } } : {}),
    maxRetries: 3,
  })
  return new OpensearchStore(client as unknown as Client, s, opts)
}

const CONTENT_KEY = 'page_content'
const METADATA_KEY = 'metadata'
const VECTOR_KEY = 'vector'
const BATCH = 500
const KEEP_ALIVE = '2m'
/** the largest result window OpenSearch allows by default (index.max_result_window) */
const MAX_WINDOW = 10000

export function difyOpensearchIndexBody(dim: number) {
  return {
    settings: { index: { knn: true } },
    mappings: {
      properties: {
        [CONTENT_KEY]: { type: 'text' },
        [VECTOR_KEY]: {
          type: 'knn_vector',
          dimension: dim,
          method: { name: 'hnsw', space_type: 'l2', engine: 'faiss', parameters: { ef_construction: 64, m: 8 } },
        },
        [METADATA_KEY]: {
          type: 'object',
          properties: { doc_id: { type: 'keyword' }, document_id: { type: 'keyword' } },
        },
      },
    },
  }
}

interface Hit {
  _id: string
  _score: number | null
  _source?: SegmentSource
  sort?: unknown[]
}
interface SearchBody {
  hits: { hits: Hit[] }
  pit_id?: string
  _scroll_id?: string
}

export class OpensearchStore implements VectorStore {
  readonly type = 'opensearch'
  private version: string | undefined
  constructor(
    private readonly client: Client,
    private readonly settings: OpensearchSettings,
    private readonly opts: OpenOptions = {},
  ) {}

  physicalName(target: VectorTarget): string {
    return target.collection.toLowerCase()
  }

  private async call<T>(f: () => Promise<{ body: T }>): Promise<T> {
    try {
      return (await f()).body
    } catch (e) {
      throw mapError(e, this.settings)
    }
  }

  private async serverVersion(): Promise<string> {
    if (this.version) return this.version
    const info = await this.call(
      () => this.client.info() as Promise<{ body: { version?: { number?: string; distribution?: string } } }>,
    )
    const v = typeof info === 'object' && info ? info.version : undefined
    if (v?.distribution !== 'opensearch' || !v.number) {
      throw new ConfigError(
        `The server at ${safeUrl(this.settings.node)} is not OpenSearch${v?.number ? ` (version ${v.number})` : ''}.`,
        {
          hint: 'Check OPENSEARCH_HOST and OPENSEARCH_PORT (Elasticsearch is VECTOR_STORE=elasticsearch).',
        },
      )
    }
    this.version = v.number
    return this.version
  }

  /** point in time search (`/_search/point_in_time`) exists from OpenSearch 2.4 */
  private async hasPit(): Promise<boolean> {
    const [maj, min] = parseVersion(await this.serverVersion())
    return maj > 2 || (maj === 2 && min >= 4)
  }

  async describe(): Promise<StoreDescription> {
    const v = await this.serverVersion()
    return {
      type: this.type,
      serverVersion: `OpenSearch ${v}`,
      collectionLayout:
        'one index per dataset: class_prefix lower-cased, random _id, metadata.doc_id keyword, knn_vector faiss hnsw l2',
      location: safeUrl(this.settings.node),
    }
  }

  async exists(target: VectorTarget): Promise<boolean> {
    return this.call(
      () => this.client.indices.exists({ index: this.physicalName(target) }) as Promise<{ body: boolean }>,
    )
  }

  async ensureCollection(target: VectorTarget, dim: number): Promise<'created' | 'exists'> {
    const index = this.physicalName(target)
    const have = await this.layout(target)
    if (have) {
      if (have.dimension !== dim || have.metric !== 'l2') {
        throw new ConfigError(
          `OpenSearch index ${index} already exists with ${have.metric} vectors of dimension ${have.dimension}, not l2 ${dim}.`,
          {
            hint: 'The index belongs to another embedding model; choose another target or drop it first.',
          },
        )
      }
      return 'exists'
    }
    await this.call(
      () => this.client.indices.create({ index, body: difyOpensearchIndexBody(dim) }) as Promise<{ body: unknown }>,
    )
    await clearCollectionKeys(this.opts.redis, 'opensearch', target.collection)
    return 'created'
  }

  async finishBulkLoad(): Promise<void> {}

  async layout(target: VectorTarget): Promise<CollectionLayout | null> {
    const index = this.physicalName(target)
    // a mapping as the server returns it
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let mapping: Record<string, { mappings: { properties?: Record<string, Record<string, any>> } }>
    let settings: Record<string, { settings: { index?: Record<string, unknown> } }>
    try {
      mapping = (await this.client.indices.getMapping({ index })).body as never
      settings = (await this.client.indices.getSettings({ index })).body as never
    } catch (e) {
      if (httpStatus(e) === 404) return null
      throw mapError(e, this.settings)
    }
    const props = Object.values(mapping)[0]?.mappings.properties ?? {}
    const vec = props[VECTOR_KEY] ?? {}
    return {
      name: index,
      dimension: typeof vec.dimension === 'number' ? vec.dimension : null,
      metric: String(vec.method?.space_type ?? vec.space_type ?? ''),
      details: { properties: props, knn: Object.values(settings)[0]?.settings.index?.knn ?? null },
    }
  }

  /** the random `_id`s of the documents whose metadata.doc_id is one of `docIds` (duplicates included) */
  private async idsFor(index: string, docIds: string[]): Promise<string[]> {
    const out: string[] = []
    for (let i = 0; i < docIds.length; i += BATCH) {
      const body = await this.call(
        () =>
          this.client.search({
            index,
            body: {
              query: { terms: { [`${METADATA_KEY}.doc_id`]: docIds.slice(i, i + BATCH) } },
              size: MAX_WINDOW,
              _source: false,
            },
          }) as Promise<{ body: SearchBody }>,
      )
      out.push(...body.hits.hits.map((h) => h._id))
    }
    return out
  }

  private async bulk(index: string, operations: unknown[]): Promise<void> {
    if (!operations.length) return
    const body = await this.call(
      () =>
        this.client.bulk({ body: operations as never[], refresh: true }) as Promise<{
          body: {
            errors: boolean
            items: Array<Record<string, { status: number; error?: { type?: string; reason?: string } }>>
          }
        }>,
    )
    if (body.errors) {
      const bad = body.items.map((it) => Object.values(it)[0]!).find((x) => x.error && x.status !== 404)
      if (bad)
        throw new DifyOpsError(
          `OpenSearch rejected part of a bulk write to ${index}: ${bad.error?.type}: ${bad.error?.reason}`,
        )
    }
  }

  async upsert(target: VectorTarget, batch: VectorRecord[]): Promise<void> {
    const index = this.physicalName(target)
    for (let i = 0; i < batch.length; i += BATCH) {
      const part = batch.slice(i, i + BATCH)
      const stale = await this.idsFor(
        index,
        part.map((r) => r.docId),
      )
      const ops: unknown[] = stale.map((id) => ({ delete: { _index: index, _id: id } }))
      for (const r of part) {
        ops.push({ index: { _index: index, _id: randomUUID().replace(/-/g, '') } }) // Dify: uuid4().hex
        ops.push({ [CONTENT_KEY]: r.text, [VECTOR_KEY]: r.vector, [METADATA_KEY]: { ...r.metadata, doc_id: r.docId } })
      }
      await this.bulk(index, ops)
    }
  }

  async *scan(target: VectorTarget, opts: ScanOptions = {}): AsyncIterable<VectorRecord[]> {
    if (!(await this.exists(target))) return
    if (await this.hasPit()) yield* this.scanPit(target, opts.batchSize ?? DEFAULT_SCAN_BATCH)
    else yield* this.scanScroll(target, opts.batchSize ?? DEFAULT_SCAN_BATCH)
  }

  private async *scanPit(target: VectorTarget, size: number): AsyncIterable<VectorRecord[]> {
    const index = this.physicalName(target)
    let pitId = (
      await this.call(
        () => this.client.createPit({ index, keep_alive: KEEP_ALIVE }) as Promise<{ body: { pit_id: string } }>,
      )
    ).pit_id
    try {
      let after: unknown[] | undefined
      for (;;) {
        const body = await this.call(
          () =>
            this.client.search({
              body: {
                pit: { id: pitId, keep_alive: KEEP_ALIVE },
                size,
                // doc_id is a keyword with doc values: a stable total order without fielddata on _id
                // (the plain field-name form: the spec's object form is ambiguous under its own oneOf)
                sort: [`${METADATA_KEY}.doc_id`],
                ...(after ? { search_after: after } : {}),
                _source: [CONTENT_KEY, METADATA_KEY, VECTOR_KEY],
              },
            } as never) as Promise<{ body: SearchBody }>,
        )
        if (body.pit_id) pitId = body.pit_id
        const hits = body.hits.hits
        if (hits.length) yield hits.map(toRecord)
        if (hits.length < size) return
        after = hits[hits.length - 1]!.sort
      }
    } finally {
      await this.client.deletePit({ body: { pit_id: [pitId] } }).catch(() => undefined)
    }
  }

  private async *scanScroll(target: VectorTarget, size: number): AsyncIterable<VectorRecord[]> {
    const index = this.physicalName(target)
    let body = await this.call(
      () =>
        this.client.search({
          index,
          scroll: KEEP_ALIVE,
          body: { size, sort: ['_doc'], _source: [CONTENT_KEY, METADATA_KEY, VECTOR_KEY] },
        } as never) as Promise<{ body: SearchBody }>,
    )
    let scrollId = body._scroll_id
    try {
      while (body.hits.hits.length) {
        yield body.hits.hits.map(toRecord)
        if (body.hits.hits.length < size || !scrollId) return
        const id = scrollId
        body = await this.call(
          () =>
            this.client.scroll({ body: { scroll: KEEP_ALIVE, scroll_id: id } } as never) as Promise<{
              body: SearchBody
            }>,
        )
        scrollId = body._scroll_id ?? scrollId
      }
    } finally {
      if (scrollId) await this.client.clearScroll({ body: { scroll_id: [scrollId] } } as never).catch(() => undefined)
    }
  }

  async count(target: VectorTarget): Promise<number> {
    try {
      return ((await this.client.count({ index: this.physicalName(target) })).body as { count: number }).count
    } catch (e) {
      if (httpStatus(e) === 404) return 0
      throw mapError(e, this.settings)
    }
  }

  async search(target: VectorTarget, vector: number[], k: number, opts: SearchOptions = {}): Promise<SearchHit[]> {
    const query = opts.documentIds?.length
      ? {
          script_score: {
            query: { bool: { filter: [{ terms: { 'metadata.document_id': opts.documentIds } }] } },
            script: {
              source: 'knn_score',
              lang: 'knn',
              params: { field: VECTOR_KEY, query_value: vector, space_type: 'l2' },
            },
          },
        }
      : { knn: { [VECTOR_KEY]: { vector, k } } }
    let body: SearchBody
    try {
      body = (await this.client.search({ index: this.physicalName(target), body: { size: k, query } }))
        .body as SearchBody
    } catch (e) {
      if (httpStatus(e) === 404) return []
      throw mapError(e, this.settings)
    }
    const t = opts.scoreThreshold
    return body.hits.hits
      .filter((h) => t === undefined || (h._score ?? 0) >= t) // Dify keeps score >= threshold
      .map((h) => {
        const r = toRecord(h)
        const score = h._score ?? 0
        return { id: r.id, docId: r.docId, text: r.text, metadata: { ...r.metadata, score }, score }
      })
  }

  async deleteByDocIds(target: VectorTarget, docIds: string[]): Promise<void> {
    if (!docIds.length || !(await this.exists(target))) return
    const index = this.physicalName(target)
    const ids = await this.idsFor(index, docIds)
    for (let i = 0; i < ids.length; i += BATCH)
      await this.bulk(
        index,
        ids.slice(i, i + BATCH).map((id) => ({ delete: { _index: index, _id: id } })),
      )
  }

  async deleteTarget(target: VectorTarget): Promise<void> {
    await this.call(
      () =>
        this.client.indices.delete({ index: this.physicalName(target), ignore_unavailable: true }) as Promise<{
          body: unknown
        }>,
    )
    await clearCollectionKeys(this.opts.redis, 'opensearch', target.collection)
  }

  async close(): Promise<void> {
    await this.client.close()
  }
}

const toRecord = (h: Hit): VectorRecord => sourceToRecord(h._id, h._source ?? {})

function mapError(e: unknown, s: OpensearchSettings): Error {
  return engineError(e, {
    product: 'OpenSearch',
    where: safeUrl(s.node),
    authHint: 'Check OPENSEARCH_USER and OPENSEARCH_PASSWORD.',
    connectHint: 'Check OPENSEARCH_HOST, OPENSEARCH_PORT and OPENSEARCH_SECURE.',
  })
}
