import { createHash } from 'node:crypto'
import type { Config } from '../../config/schema.js'
import { ConfigError, ConnectError, DifyOpsError } from '../../core/errors.js'
import { safeUrl, weaviateSettings, type WeaviateSettings } from '../config.js'
import { weaviateClassName } from '../../dify/collections.js'
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
 * Weaviate, as Dify 1.11's `vdb/weaviate/weaviate_vector.py` (weaviate-client v4) lays it out
 * (dify-vector-stores.md §4 "Weaviate"): one class per dataset named class_prefix (first letter upper-cased by
 * Weaviate); properties text (word tokenization), document_id, doc_id, chunk_index (int) plus auto-schema metadata
 * keys; a self-provided named vector `default` (HNSW, cosine); object id uuid5(NAMESPACE_URL, text) in 1.9.2–1.15.
 *
 * REST + GraphQL only, through fetch, following the 1.27.0 OpenAPI document. The official JS client (3.5.x) sends
 * batch writes, batch deletes and object fetches over gRPC; REST has an equivalent for each (POST/DELETE
 * /v1/batch/objects, the GET /v1/objects cursor, GraphQL Get/Aggregate) and needs no gRPC port, client or fake.
 * Reads cope with classes created before Dify 1.9.2 (legacy unnamed vector); for a connected Dify ≤ 1.9.1
 * (opts.weaviateClassLayout 'v3', weaviateIdScheme 'doc-id') classes are created and written as its v3 client does:
 * property `text` only, the legacy vector, object id = metadata doc_id.
 */
export async function open(config: Config, opts: OpenOptions = {}): Promise<WeaviateStore> {
  return new WeaviateStore(weaviateSettings(config.raw), opts, config.connectTimeoutMs)
}

/** Python's uuid.NAMESPACE_URL, which Dify passes to uuid5 */
const NAMESPACE_URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8'
const TEXT_KEY = 'text'
const MIN_VERSION = [1, 27, 0]
const WRITE_BATCH = 200

/** RFC 4122 uuid5 (SHA-1), as Python's uuid.uuid5 */
export function uuid5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex')
  const h = createHash('sha1').update(ns).update(Buffer.from(name, 'utf8')).digest()
  h[6] = (h[6]! & 0x0f) | 0x50
  h[8] = (h[8]! & 0x3f) | 0x80
  const x = h.subarray(0, 16).toString('hex')
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`
}

/**
 * Dify's class definition (v4 client: collections.create with these properties and Vectors.self_provided()); from
 * 1.14.0 also doc_type (text), is_summary (boolean) and original_chunk_id (text), in Dify's order
 * (api/providers/vdb/vdb-weaviate/src/dify_vdb_weaviate/weaviate_vector.py `_create_collection`, `_ensure_properties`).
 * `text` is tokenized by WEAVIATE_TOKENIZATION (default word).
 */
export function difyWeaviateClass(
  name: string,
  o: { summaryProperties?: boolean; tokenization?: string } = {},
): Record<string, unknown> {
  const summary = o.summaryProperties ?? true
  return {
    class: weaviateClassName(name),
    properties: [
      { name: TEXT_KEY, dataType: ['text'], tokenization: o.tokenization || 'word' },
      { name: 'document_id', dataType: ['text'] },
      { name: 'doc_id', dataType: ['text'] },
      ...(summary ? [{ name: 'doc_type', dataType: ['text'] }] : []),
      { name: 'chunk_index', dataType: ['int'] },
      ...(summary
        ? [
            { name: 'is_summary', dataType: ['boolean'] },
            { name: 'original_chunk_id', dataType: ['text'] },
          ]
        : []),
    ],
    vectorConfig: {
      default: { vectorizer: { none: {} }, vectorIndexType: 'hnsw', vectorIndexConfig: { distance: 'cosine' } },
    },
  }
}

interface WClass {
  class: string
  properties?: Array<{ name: string; dataType: string[] }>
  vectorConfig?: Record<string, { vectorIndexType?: string; vectorIndexConfig?: { distance?: string } }>
  vectorIndexConfig?: { distance?: string }
}

export class WeaviateStore implements VectorStore {
  readonly type = 'weaviate'
  private version?: string
  private readonly headers: Record<string, string>

  constructor(
    private readonly settings: WeaviateSettings,
    private readonly opts: OpenOptions = {},
    private readonly timeoutMs = 20_000,
  ) {
    this.headers = {
      'content-type': 'application/json',
      ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}),
    }
  }

  physicalName(target: VectorTarget): string {
    return weaviateClassName(target.collection)
  }

  private async req<T>(
    method: string,
    path: string,
    body?: unknown,
    okStatuses: number[] = [],
  ): Promise<{ status: number; data: T }> {
    let r: Response
    try {
      r = await fetch(`${this.settings.endpoint}/v1${path}`, {
        method,
        headers: this.headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(Math.max(this.timeoutMs, 20_000)),
      })
    } catch (e) {
      throw new ConnectError(
        `Cannot connect to Weaviate at ${safeUrl(this.settings.endpoint)}: ${(e as Error).message}.`,
        { hint: 'Check WEAVIATE_ENDPOINT.', cause: e },
      )
    }
    const text = await r.text()
    const data = (text ? JSON.parse(text) : undefined) as T
    if (r.ok || okStatuses.includes(r.status)) return { status: r.status, data }
    if (r.status === 401 || r.status === 403) {
      throw new ConfigError(`Weaviate at ${safeUrl(this.settings.endpoint)} refused the request (HTTP ${r.status}).`, {
        hint: 'Check WEAVIATE_API_KEY.',
      })
    }
    const msg =
      (data as { error?: Array<{ message: string }> } | undefined)?.error?.map((e) => e.message).join('; ') ??
      r.statusText
    throw new DifyOpsError(`Weaviate (HTTP ${r.status}) ${method} ${path.split('?')[0]}: ${msg}`)
  }

  private async gql<T>(query: string): Promise<T> {
    const { data } = await this.req<{ data?: T; errors?: Array<{ message: string }> }>('POST', '/graphql', { query })
    if (data.errors?.length) throw new DifyOpsError(`Weaviate GraphQL: ${data.errors.map((e) => e.message).join('; ')}`)
    return data.data as T
  }

  private async serverVersion(): Promise<string> {
    this.version ??= (await this.req<{ version: string }>('GET', '/meta')).data.version
    return this.version
  }

  /** Dify 1.11 talks to Weaviate with weaviate-client v4, which needs a 1.27+ server; refuse to write to older ones. */
  private async requireWritable(): Promise<void> {
    const v = await this.serverVersion()
    const parts = v.split('.').map((x) => Number.parseInt(x, 10) || 0)
    for (let i = 0; i < 3; i++) {
      if ((parts[i] ?? 0) > MIN_VERSION[i]!) return
      if ((parts[i] ?? 0) < MIN_VERSION[i]!) {
        throw new ConfigError(
          `Weaviate ${v} is older than 1.27.0, the oldest server Dify 1.11 (weaviate-client v4) works with.`,
          {
            hint: 'Upgrade Weaviate to 1.27 or newer before writing to it (reading old collections works).',
          },
        )
      }
    }
  }

  private async schema(target: VectorTarget): Promise<WClass | null> {
    const r = await this.req<WClass>(
      'GET',
      `/schema/${encodeURIComponent(this.physicalName(target))}`,
      undefined,
      [404],
    )
    return r.status === 404 ? null : r.data
  }

  async describe(): Promise<StoreDescription> {
    const v = await this.serverVersion()
    return {
      type: this.type,
      serverVersion: `Weaviate ${v}`,
      collectionLayout:
        'one class per dataset (class_prefix), named vector "default" (cosine); classes from Dify ≤ 1.9.1 use the legacy unnamed vector',
      location: safeUrl(this.settings.endpoint),
    }
  }

  async exists(target: VectorTarget): Promise<boolean> {
    return (await this.schema(target)) !== null
  }

  private async storedDimension(target: VectorTarget, named: boolean): Promise<number | null> {
    const q = new URLSearchParams({ class: this.physicalName(target), limit: '1', include: 'vector' })
    const { data } = await this.req<{ objects?: Array<{ vector?: number[]; vectors?: Record<string, number[]> }> }>(
      'GET',
      `/objects?${q}`,
    )
    const o = data.objects?.[0]
    const v = named ? o?.vectors?.default : o?.vector
    return v ? v.length : null
  }

  async ensureCollection(target: VectorTarget, dim: number): Promise<'created' | 'exists'> {
    await this.requireWritable()
    const s = await this.schema(target)
    const name = this.physicalName(target)
    if (this.opts.weaviateClassLayout === 'v3') return this.ensureV3Class(target, s, dim)
    if (s) {
      const vc = s.vectorConfig?.default
      if (!vc) {
        throw new ConfigError(
          `Weaviate class ${name} was created before Dify 1.9.2 (legacy unnamed vector); Dify 1.11 cannot write to it.`,
          {
            hint: 'Delete the target class so it is recreated with the named vector "default".',
          },
        )
      }
      const distance = vc.vectorIndexConfig?.distance ?? 'cosine'
      if (distance !== 'cosine')
        throw new ConfigError(`Weaviate class ${name} uses ${distance} distance; Dify uses cosine.`, {
          hint: 'Delete the target class first.',
        })
      const have = await this.storedDimension(target, true)
      if (have !== null && have !== dim) {
        throw new ConfigError(`Weaviate class ${name} already holds vectors of dimension ${have}, not ${dim}.`, {
          hint: 'Delete the target collection first, or migrate vectors of the same embedding model.',
        })
      }
      // Dify's _ensure_properties
      const props = new Set((s.properties ?? []).map((p) => p.name))
      for (const p of (this.classDef(name).properties as Array<{ name: string }>).slice(1)) {
        if (!props.has(p.name)) await this.req('POST', `/schema/${encodeURIComponent(name)}/properties`, p)
      }
      return 'exists'
    }
    await this.req('POST', '/schema', this.classDef(name))
    await clearCollectionKeys(this.opts.redis, 'weaviate', target.collection)
    return 'created'
  }

  /**
   * Dify ≤ 1.9.1 (weaviate-client v3, `_create_collection` with `_default_schema`): the class holds the property
   * `text` only (the metadata keys come from auto-schema) and the legacy unnamed vector (cosine by default); an
   * existing class is used as it is. A class with named vectors (made by Dify 1.9.2+) cannot be written by that client.
   */
  private async ensureV3Class(target: VectorTarget, s: WClass | null, dim: number): Promise<'created' | 'exists'> {
    const name = this.physicalName(target)
    if (s) {
      if (s.vectorConfig?.default)
        throw new ConfigError(
          `Weaviate class ${name} has the named vector "default" of Dify 1.9.2 and later; the connected Dify (1.9.1 or older) writes the legacy unnamed vector.`,
          {
            hint: 'Delete the target class so it is recreated as this Dify release creates it, or upgrade Dify first.',
          },
        )
      const distance = s.vectorIndexConfig?.distance ?? 'cosine'
      if (distance !== 'cosine')
        throw new ConfigError(`Weaviate class ${name} uses ${distance} distance; Dify uses cosine.`, {
          hint: 'Delete the target class first.',
        })
      const have = await this.storedDimension(target, false)
      if (have !== null && have !== dim)
        throw new ConfigError(`Weaviate class ${name} already holds vectors of dimension ${have}, not ${dim}.`, {
          hint: 'Delete the target collection first, or migrate vectors of the same embedding model.',
        })
      return 'exists'
    }
    await this.req('POST', '/schema', { class: name, properties: [{ name: TEXT_KEY, dataType: ['text'] }] })
    await clearCollectionKeys(this.opts.redis, 'weaviate', target.collection)
    return 'created'
  }

  private classDef(name: string): Record<string, unknown> {
    return difyWeaviateClass(name, {
      summaryProperties: this.opts.weaviateSummaryProperties,
      tokenization: this.settings.tokenization,
    })
  }

  async finishBulkLoad(): Promise<void> {}

  async layout(target: VectorTarget): Promise<CollectionLayout | null> {
    const s = await this.schema(target)
    if (!s) return null
    const named = !!s.vectorConfig?.default
    return {
      name: s.class,
      dimension: await this.storedDimension(target, named),
      metric:
        (named ? s.vectorConfig!.default!.vectorIndexConfig?.distance : s.vectorIndexConfig?.distance) ?? 'cosine',
      details: {
        vector: named ? 'named:default' : 'legacy',
        vectorIndexType: named ? s.vectorConfig!.default!.vectorIndexType : 'hnsw',
        properties: (s.properties ?? []).map((p) => ({
          name: p.name,
          dataType: p.dataType,
          tokenization: (p as { tokenization?: string }).tokenization ?? null,
        })),
      },
    }
  }

  private objectId(r: VectorRecord): string {
    return (this.opts.weaviateIdScheme ?? 'uuid5-text') === 'uuid5-text' ? uuid5(NAMESPACE_URL, r.text) : r.docId
  }

  async upsert(target: VectorTarget, batch: VectorRecord[]): Promise<void> {
    await this.requireWritable()
    const cls = this.physicalName(target)
    const uuid5Ids = (this.opts.weaviateIdScheme ?? 'uuid5-text') === 'uuid5-text'
    for (let i = 0; i < batch.length; i += WRITE_BATCH) {
      const slice = batch.slice(i, i + WRITE_BATCH)
      // uuid5(text) ids are not keyed by doc_id: an object of the same doc_id with another text would stay behind,
      // so a rewrite deletes the doc_ids first (delete-then-insert by metadata.doc_id)
      if (uuid5Ids)
        await this.deleteByDocIds(
          target,
          slice.map((r) => r.docId),
        )
      const objects = slice.map((r) => ({
        class: cls,
        id: this.objectId(r),
        properties: { [TEXT_KEY]: r.text, ...r.metadata, doc_id: r.docId },
        ...(this.opts.weaviateClassLayout === 'v3' ? { vector: r.vector } : { vectors: { default: r.vector } }),
      }))
      const { data } = await this.req<
        Array<{ id: string; result?: { errors?: { error?: Array<{ message: string }> } } }>
      >('POST', '/batch/objects', { objects })
      const failed = data.filter((o) => o.result?.errors?.error?.length)
      if (failed.length) {
        throw new DifyOpsError(
          `Weaviate rejected ${failed.length} of ${objects.length} objects: ${failed[0]!.result!.errors!.error![0]!.message}`,
        )
      }
    }
  }

  /** GET /v1/objects cursor (after = last object id), include=vector; legacy and named-vector classes */
  async *scan(target: VectorTarget, opts: ScanOptions = {}): AsyncIterable<VectorRecord[]> {
    const s = await this.schema(target)
    if (!s) return
    const limit = opts.batchSize ?? DEFAULT_SCAN_BATCH
    let after: string | undefined
    for (;;) {
      const q = new URLSearchParams({ class: s.class, limit: String(limit), include: 'vector' })
      if (after) q.set('after', after)
      const { data } = await this.req<{
        objects?: Array<{
          id: string
          properties?: Record<string, unknown>
          vector?: number[]
          vectors?: Record<string, number[]>
        }>
      }>('GET', `/objects?${q}`)
      const objs = data.objects ?? []
      if (!objs.length) return
      yield objs.map((o) => {
        const props = { ...o.properties }
        const text = String(props[TEXT_KEY] ?? '')
        delete props[TEXT_KEY]
        for (const k of Object.keys(props)) if (props[k] === null || props[k] === undefined) delete props[k]
        const v = o.vectors?.default ?? (o.vector && o.vector.length ? o.vector : [])
        return {
          id: o.id,
          docId: typeof props.doc_id === 'string' ? props.doc_id : o.id,
          text,
          metadata: props,
          vector: Array.from(v, Math.fround),
        }
      })
      if (objs.length < limit) return
      after = objs[objs.length - 1]!.id
    }
  }

  async count(target: VectorTarget): Promise<number> {
    const s = await this.schema(target)
    if (!s) return 0
    const d = await this.gql<{ Aggregate: Record<string, Array<{ meta: { count: number } }>> }>(
      `{ Aggregate { ${s.class} { meta { count } } } }`,
    )
    return d.Aggregate[s.class]?.[0]?.meta.count ?? 0
  }

  async search(target: VectorTarget, vector: number[], k: number, opts: SearchOptions = {}): Promise<SearchHit[]> {
    const s = await this.schema(target)
    if (!s) return []
    const named = !!s.vectorConfig?.default
    const props = (s.properties ?? [])
      .filter((p) => p.name !== 'chunk_index' && /^(text|string|int|number|boolean)$/.test(p.dataType[0] ?? ''))
      .map((p) => p.name)
    const ids = opts.documentIds ?? []
    const eq = (id: string) => `{ path: ["document_id"], operator: Equal, valueText: ${JSON.stringify(id)} }`
    const whereArg =
      ids.length === 0
        ? ''
        : ids.length === 1
          ? `, where: ${eq(ids[0]!)}`
          : `, where: { operator: Or, operands: [${ids.map(eq).join(', ')}] }`
    const near = `nearVector: { vector: [${vector.join(',')}]${named ? ', targetVectors: ["default"]' : ''} }`
    const d = await this.gql<{
      Get: Record<string, Array<Record<string, unknown> & { _additional: { id: string; distance: number | null } }>>
    }>(
      `{ Get { ${s.class}(${near}, limit: ${Math.max(1, Math.floor(k))}${whereArg}) { ${props.join(' ')} _additional { id distance } } } }`,
    )
    const t = opts.scoreThreshold
    return (d.Get[s.class] ?? [])
      .map((row) => {
        const { _additional, ...rest } = row
        const text = String(rest[TEXT_KEY] ?? '')
        delete rest[TEXT_KEY]
        for (const key of Object.keys(rest)) if (rest[key] === null) delete rest[key]
        const score = 1 - (_additional.distance ?? 1)
        return {
          id: _additional.id,
          docId: String(rest.doc_id ?? _additional.id),
          text,
          metadata: { ...rest, score },
          score,
        }
      })
      .filter((h) => t === undefined || h.score > t)
      .sort((a, b) => b.score - a.score)
  }

  /** by the doc_id property (never the object id, which is uuid5 of the text in 1.9.2–1.15) */
  async deleteByDocIds(target: VectorTarget, docIds: string[]): Promise<void> {
    if (!docIds.length || !(await this.exists(target))) return
    await this.req('DELETE', '/batch/objects', {
      match: {
        class: this.physicalName(target),
        where: { path: ['doc_id'], operator: 'ContainsAny', valueTextArray: docIds },
      },
      output: 'minimal',
    })
  }

  async deleteTarget(target: VectorTarget): Promise<void> {
    await this.req('DELETE', `/schema/${encodeURIComponent(this.physicalName(target))}`, undefined, [400, 404])
    await clearCollectionKeys(this.opts.redis, 'weaviate', target.collection)
  }

  async close(): Promise<void> {}
}
