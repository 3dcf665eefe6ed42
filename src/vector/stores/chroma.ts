import type { ChromaClient, Collection, Metadata } from 'chromadb'
import type { Config } from '../../config/schema.js'
import { ConfigError, ConnectError, DifyOpsError } from '../../core/errors.js'
import { chromaSettings, type ChromaSettings } from '../config.js'
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
 * Chroma, as Dify's `vdb/chroma/chroma_vector.py` lays it out (dify-vector-stores.md §4 "Chroma"): one collection
 * per dataset named class_prefix.lower(), created with no metadata and no configuration, so HNSW space is the
 * default `l2`; ids = metadata.doc_id; documents = page_content; flat metadata; score = 1 − distance.
 *
 * The official `chromadb` client (3.5.0) is loaded lazily, only when this store is opened (it needs Node ≥ 20).
 */
export async function open(config: Config, opts: OpenOptions = {}): Promise<ChromaStore> {
  const s = chromaSettings(config.raw)
  let mod: typeof import('chromadb')
  try {
    mod = await import('chromadb')
  } catch (e) {
    throw new ConfigError(`The Chroma client cannot be loaded: ${(e as Error).message}.`, {
      hint: 'The chromadb client needs Node.js 20 or newer; run dify-ops with a newer Node for VECTOR_STORE=chroma.',
      cause: e,
    })
  }
  const headers = authHeaders(s)
  const client = new mod.ChromaClient({
    host: s.host,
    port: s.port,
    ssl: false,
    tenant: s.tenant,
    database: s.database,
    headers,
  })
  return new ChromaStore(client, s, headers, opts)
}

/** Dify's CHROMA_AUTH_PROVIDER / CHROMA_AUTH_CREDENTIALS (token → Bearer, basic → Basic). */
function authHeaders(s: ChromaSettings): Record<string, string> {
  if (!s.authCredentials) return {}
  if (/basic/i.test(s.authProvider ?? ''))
    return { Authorization: `Basic ${Buffer.from(s.authCredentials).toString('base64')}` }
  return { Authorization: `Bearer ${s.authCredentials}` }
}

export class ChromaStore implements VectorStore {
  readonly type = 'chroma'
  private readonly base: string
  constructor(
    private readonly client: ChromaClient,
    private readonly settings: ChromaSettings,
    private readonly headers: Record<string, string>,
    private readonly opts: OpenOptions = {},
  ) {
    this.base = `http://${settings.host}:${settings.port}`
  }

  physicalName(target: VectorTarget): string {
    return target.collection.toLowerCase()
  }

  private async call<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f()
    } catch (e) {
      throw mapError(e, this.base)
    }
  }

  /** collection handles by name, so a stream of upserts costs no extra round trip */
  private readonly handles = new Map<string, Collection>()

  private async collection(target: VectorTarget, cached = false): Promise<Collection | null> {
    const name = this.physicalName(target)
    if (cached && this.handles.has(name)) return this.handles.get(name)!
    try {
      const c = await this.client.getCollection({ name, embeddingFunction: null as never })
      this.handles.set(name, c)
      return c
    } catch (e) {
      this.handles.delete(name)
      if ((e as Error).name === 'ChromaNotFoundError') return null
      throw mapError(e, this.base)
    }
  }

  /** the server's collection model (has `dimension`, which the client does not expose) */
  private async model(
    target: VectorTarget,
  ): Promise<{ dimension: number | null; metadata: unknown; configuration_json: Record<string, unknown> } | null> {
    const url = `${this.base}/api/v2/tenants/${encodeURIComponent(this.settings.tenant)}/databases/${encodeURIComponent(this.settings.database)}/collections/${encodeURIComponent(this.physicalName(target))}`
    const r = await this.call(() => fetch(url, { headers: this.headers }))
    if (r.status === 404) return null
    if (!r.ok) throw new DifyOpsError(`Chroma answered ${r.status} for collection ${this.physicalName(target)}.`)
    return (await r.json()) as never
  }

  async describe(): Promise<StoreDescription> {
    const v = await this.call(() => this.client.version())
    return {
      type: this.type,
      serverVersion: `Chroma ${v}`,
      collectionLayout: 'one collection per dataset, class_prefix lower-cased, default HNSW space l2',
      location: `${this.base} (tenant ${this.settings.tenant}, database ${this.settings.database})`,
    }
  }

  async exists(target: VectorTarget): Promise<boolean> {
    return (await this.collection(target)) !== null
  }

  async ensureCollection(target: VectorTarget, dim: number): Promise<'created' | 'exists'> {
    const m = await this.model(target)
    if (m) {
      const space = spaceOf(m.configuration_json)
      if (m.dimension != null && m.dimension !== dim) {
        throw new ConfigError(
          `Chroma collection ${this.physicalName(target)} already exists with dimension ${m.dimension}, not ${dim}.`,
          {
            hint: 'Delete the target collection first, or migrate vectors of the same embedding model.',
          },
        )
      }
      if (space !== 'l2') {
        throw new ConfigError(
          `Chroma collection ${this.physicalName(target)} uses the ${space} space; Dify creates collections with l2.`,
          {
            hint: 'Delete the target collection so it is recreated as Dify does.',
          },
        )
      }
      return 'exists'
    }
    // Dify: get_or_create_collection(name) — no metadata, no configuration (server defaults: hnsw space l2)
    await this.call(() =>
      this.client.getOrCreateCollection({ name: this.physicalName(target), embeddingFunction: null as never }),
    )
    await clearCollectionKeys(this.opts.redis, 'chroma', target.collection)
    return 'created'
  }

  async finishBulkLoad(): Promise<void> {}

  async layout(target: VectorTarget): Promise<CollectionLayout | null> {
    const m = await this.model(target)
    if (!m) return null
    return {
      name: this.physicalName(target),
      dimension: m.dimension ?? null,
      metric: spaceOf(m.configuration_json),
      details: { metadata: m.metadata ?? null, configuration: m.configuration_json },
    }
  }

  async upsert(target: VectorTarget, batch: VectorRecord[]): Promise<void> {
    if (!batch.length) return
    const col = await this.collection(target, true)
    if (!col)
      throw new DifyOpsError(`Chroma collection ${this.physicalName(target)} does not exist.`, {
        hint: 'Create it first (ensureCollection).',
      })
    const byId = new Map<string, VectorRecord>()
    for (const r of batch) byId.set(r.docId, r)
    const recs = [...byId.values()]
    await this.call(() =>
      col.upsert({
        ids: recs.map((r) => r.docId),
        embeddings: recs.map((r) => r.vector),
        documents: recs.map((r) => r.text),
        metadatas: recs.map((r) => flatMetadata({ ...r.metadata, doc_id: r.docId })),
      }),
    )
  }

  /**
   * Chroma has no cursor: pages by limit/offset in the server's insertion order (as Dify's own read-back does).
   * Consistent while nothing writes to the collection.
   */
  async *scan(target: VectorTarget, opts: ScanOptions = {}): AsyncIterable<VectorRecord[]> {
    const n = opts.batchSize ?? DEFAULT_SCAN_BATCH
    const col = await this.collection(target)
    if (!col) return
    for (let offset = 0; ; offset += n) {
      const g = await this.call(() =>
        col.get({ limit: n, offset, include: ['embeddings', 'documents', 'metadatas'] as never }),
      )
      if (!g.ids.length) return
      yield g.ids.map((id, i) => {
        const metadata = (g.metadatas[i] ?? {}) as Record<string, unknown>
        return {
          id,
          docId: typeof metadata.doc_id === 'string' ? metadata.doc_id : id,
          text: g.documents[i] ?? '',
          metadata,
          // JSON carries the shortest decimal of each float32; fround gives back the exact stored value
          vector: Array.from(g.embeddings[i] ?? [], Math.fround),
        }
      })
      if (g.ids.length < n) return
    }
  }

  async count(target: VectorTarget): Promise<number> {
    const col = await this.collection(target)
    return col ? this.call(() => col.count()) : 0
  }

  async search(target: VectorTarget, vector: number[], k: number, opts: SearchOptions = {}): Promise<SearchHit[]> {
    const col = await this.collection(target)
    if (!col) return []
    const where = opts.documentIds?.length ? { document_id: { $in: opts.documentIds } } : undefined
    const q = await this.call(() =>
      col.query({
        queryEmbeddings: [vector],
        nResults: k,
        where: where as never,
        include: ['documents', 'metadatas', 'distances'] as never,
      }),
    )
    const ids = q.ids[0] ?? []
    const hits = ids.map((id, i) => {
      const meta = (q.metadatas[0]?.[i] ?? {}) as Record<string, unknown>
      const score = 1 - (q.distances?.[0]?.[i] ?? 0)
      return {
        id,
        docId: String(meta.doc_id ?? id),
        text: q.documents[0]?.[i] ?? '',
        metadata: { ...meta, score },
        score,
      }
    })
    const t = opts.scoreThreshold
    return (t === undefined ? hits : hits.filter((h) => h.score >= t)).sort((a, b) => b.score - a.score)
  }

  async deleteByDocIds(target: VectorTarget, docIds: string[]): Promise<void> {
    if (!docIds.length) return
    const col = await this.collection(target)
    if (col) await this.call(() => col.delete({ ids: docIds }))
  }

  async deleteTarget(target: VectorTarget): Promise<void> {
    this.handles.delete(this.physicalName(target))
    try {
      await this.client.deleteCollection({ name: this.physicalName(target) })
    } catch (e) {
      if ((e as Error).name !== 'ChromaNotFoundError') throw mapError(e, this.base)
    }
    await clearCollectionKeys(this.opts.redis, 'chroma', target.collection)
  }

  async close(): Promise<void> {}
}

function spaceOf(conf: Record<string, unknown> | undefined): string {
  const h = (conf?.hnsw ?? conf?.hnsw_configuration) as { space?: string } | undefined
  return h?.space ?? 'l2'
}

/** Chroma takes only flat str/int/float/bool values; Dify's metadata is flat already. */
function flatMetadata(m: Record<string, unknown>): Metadata {
  const out: Record<string, string | number | boolean> = {}
  for (const [k, v] of Object.entries(m)) {
    if (v === null || v === undefined) continue
    out[k] = typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean)
  }
  return out
}

function mapError(e: unknown, base: string): Error {
  if (e instanceof DifyOpsError) return e
  const err = e as Error & { cause?: { code?: string } }
  if (
    err.name === 'ChromaConnectionError' ||
    /fetch failed|ECONNREFUSED/i.test(err.message) ||
    err.cause?.code === 'ECONNREFUSED'
  ) {
    return new ConnectError(`Cannot connect to Chroma at ${base}: ${err.message}.`, {
      hint: 'Check CHROMA_HOST and CHROMA_PORT.',
      cause: e,
    })
  }
  if (err.name === 'ChromaUnauthorizedError' || err.name === 'ChromaForbiddenError') {
    return new ConfigError(`Chroma at ${base} refused the credentials.`, {
      hint: 'Check CHROMA_AUTH_PROVIDER and CHROMA_AUTH_CREDENTIALS.',
      cause: e,
    })
  }
  return new DifyOpsError(`Chroma: ${err.message}`, { cause: e })
}
