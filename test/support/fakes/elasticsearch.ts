import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { apiFixture } from './api-fixtures.js'

/**
 * An in-process Elasticsearch 8.14 server for tests (Dify's compose runs 8.14.3). Every request's path, method and
 * URL parameters are checked against Elastic's 8.14 endpoint files (reduced: test/fixtures/api/elasticsearch-8.14.json;
 * the originals are the shared reference material, specs/elasticsearch/8.14/*.json; unknown
 * parameters are a 400 as on the real server); bodies are checked by hand against Elastic's typed definitions
 * (elasticsearch-specification 8.14: SearchRequest.ts, Knn.ts, BulkRequest.ts, IndicesCreateRequest.ts,
 * mapping/core.ts + DenseVectorIndexOptions.ts, OpenPointInTimeRequest.ts) for the shapes dify-ops uses. Vendor
 * (compatible-with=8) and plain media types are accepted; compatible-with=9 is refused as an 8.x server does.
 * Endpoints outside the spec set answer 404 (no handler) and endpoints in it that the fake does not implement 501.
 */
export const ES_SPEC = 'elasticsearch-8.14'
const GLOBAL_PARAMS = new Set(['pretty', 'human', 'error_trace', 'source', 'filter_path'])

interface Endpoint {
  name: string
  paths: Array<{ re: RegExp; parts: string[]; methods: string[]; literal: boolean }>
  params: Record<string, { type: string; options?: string[]; required?: boolean }>
  bodyRequired: boolean
}

function loadEndpoints(): Endpoint[] {
  const out: Endpoint[] = []
  for (const [name, spec] of Object.entries<any>(apiFixture(ES_SPEC).endpoints!)) {
    out.push({
      name,
      paths: spec.url.paths.map((p: { path: string; methods: string[] }) => {
        const parts: string[] = []
        const re = new RegExp(`^${p.path.replace(/\{(\w+)\}/g, (_m, n) => (parts.push(n), '([^/_][^/]*)'))}$`)
        return { re, parts, methods: p.methods, literal: parts.length === 0 }
      }),
      params: spec.params ?? {},
      bodyRequired: spec.body?.required === true,
    })
  }
  return out
}

export class EsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    reason: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(reason)
  }
}
const bad = (reason: string, type = 'x_content_parse_exception') => new EsError(400, type, reason)

interface Doc {
  seq: number
  source: Record<string, any>
}
interface Index {
  mappings: { properties: Record<string, any> }
  docs: Map<string, Doc>
}
interface Pit {
  index: string
  snapshot: Array<[string, Doc]>
}

export interface FakeElasticsearch {
  url: string
  indices: Map<string, Index>
  pits: Map<string, Pit>
  requests: Array<{
    method: string
    path: string
    query: Record<string, string>
    body: unknown
    status: number
    contentType?: string
  }>
  close(): Promise<void>
}

const FIELD_TYPES = new Set([
  'text',
  'keyword',
  'dense_vector',
  'object',
  'long',
  'integer',
  'float',
  'double',
  'boolean',
  'date',
  'nested',
])
const PROP_KEYS: Record<string, Set<string>> = {
  text: new Set(['type', 'analyzer', 'fields', 'index', 'store', 'search_analyzer', 'similarity', 'norms']),
  keyword: new Set(['type', 'ignore_above', 'index', 'store', 'doc_values', 'normalizer', 'fields']),
  dense_vector: new Set(['type', 'dims', 'element_type', 'index', 'index_options', 'similarity']),
  object: new Set(['type', 'properties', 'dynamic', 'enabled', 'subobjects']),
}
const SIMILARITIES = new Set(['l2_norm', 'dot_product', 'cosine', 'max_inner_product'])

function checkProperties(props: unknown, where: string): void {
  if (!props || typeof props !== 'object' || Array.isArray(props))
    throw bad(`[${where}] must be an object`, 'mapper_parsing_exception')
  for (const [name, p] of Object.entries(props as Record<string, any>)) {
    const type = p?.type ?? (p?.properties ? 'object' : undefined)
    if (!FIELD_TYPES.has(type))
      throw bad(`No handler for type [${type}] declared on field [${name}]`, 'mapper_parsing_exception')
    const allowed = PROP_KEYS[type]
    if (allowed)
      for (const k of Object.keys(p))
        if (!allowed.has(k))
          throw bad(`unknown parameter [${k}] on mapper [${name}] of type [${type}]`, 'mapper_parsing_exception')
    if (type === 'dense_vector') {
      if (!Number.isInteger(p.dims) || p.dims < 1 || p.dims > 4096)
        throw bad(`[dims] must be an integer 1..4096 on [${name}]`, 'mapper_parsing_exception')
      if (p.similarity !== undefined && !SIMILARITIES.has(p.similarity))
        throw bad(`Unknown value [${p.similarity}] for field [similarity]`, 'mapper_parsing_exception')
      if (p.index !== undefined && typeof p.index !== 'boolean')
        throw bad('[index] must be a boolean', 'mapper_parsing_exception')
      if (p.index === false && p.similarity !== undefined)
        throw bad('Field [similarity] requires field [index] to be configured', 'mapper_parsing_exception')
    }
    if (type === 'object' && p.properties !== undefined) checkProperties(p.properties, `${where}.${name}`)
  }
}

const SEARCH_BODY_KEYS = new Set([
  'aggregations',
  'aggs',
  'collapse',
  'explain',
  'ext',
  'from',
  'highlight',
  'track_total_hits',
  'indices_boost',
  'docvalue_fields',
  'knn',
  'rank',
  'min_score',
  'post_filter',
  'profile',
  'query',
  'rescore',
  'retriever',
  'script_fields',
  'search_after',
  'size',
  'slice',
  'sort',
  '_source',
  'fields',
  'suggest',
  'terminate_after',
  'timeout',
  'track_scores',
  'version',
  'seq_no_primary_term',
  'stored_fields',
  'pit',
  'runtime_mappings',
  'stats',
])
const KNN_KEYS = new Set([
  'field',
  'query_vector',
  'query_vector_builder',
  'k',
  'num_candidates',
  'boost',
  'filter',
  'similarity',
  'inner_hits',
])

function getField(src: Record<string, any>, path: string): unknown[] {
  let cur: unknown[] = [src]
  for (const part of path.split('.')) {
    cur = cur
      .flatMap((c) => (c && typeof c === 'object' && part in (c as object) ? [(c as any)[part]] : []))
      .flatMap((v) => (Array.isArray(v) ? v : [v]))
  }
  return cur
}

/** the query DSL subset dify-ops sends (QueryContainer: match_all, term, terms, ids, bool); anything else is a 400 */
export function matchQuery(q: any, id: string, src: Record<string, any>): boolean {
  if (!q || typeof q !== 'object' || Array.isArray(q))
    throw bad('query malformed, must be an object', 'parsing_exception')
  const keys = Object.keys(q)
  if (keys.length !== 1) throw bad('query malformed, expected exactly one query type', 'parsing_exception')
  const [type] = keys as [string]
  const body = q[type]
  switch (type) {
    case 'match_all':
      return true
    case 'ids':
      return (body.values as string[]).includes(id)
    case 'term': {
      const [[f, v]] = Object.entries(body) as [[string, any]]
      const want = v && typeof v === 'object' ? v.value : v
      return f === '_id' ? id === want : getField(src, f).some((x) => x === want)
    }
    case 'terms': {
      const entries = Object.entries(body).filter(([k]) => k !== 'boost')
      if (entries.length !== 1 || !Array.isArray(entries[0]![1]))
        throw bad('[terms] query requires one field with an array of values', 'parsing_exception')
      const [f, vals] = entries[0] as [string, unknown[]]
      return f === '_id' ? vals.includes(id) : getField(src, f).some((x) => vals.includes(x))
    }
    case 'bool': {
      for (const k of Object.keys(body))
        if (!['must', 'filter', 'should', 'must_not', 'minimum_should_match', 'boost'].includes(k))
          throw bad(`[bool] query does not support [${k}]`, 'parsing_exception')
      const arr = (x: unknown) => (x === undefined ? [] : Array.isArray(x) ? x : [x])
      if (![...arr(body.must), ...arr(body.filter)].every((c) => matchQuery(c, id, src))) return false
      if (arr(body.must_not).some((c) => matchQuery(c, id, src))) return false
      const sh = arr(body.should)
      return sh.length === 0 || sh.some((c) => matchQuery(c, id, src))
    }
    default:
      throw new EsError(400, 'parsing_exception', `unknown query [${type}]`)
  }
}

function cosine(a: number[], b: number[]): number {
  let d = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!
    na += a[i]! ** 2
    nb += b[i]! ** 2
  }
  return d / Math.sqrt(na * nb)
}

export function pickSource(src: Record<string, any>, spec: unknown): Record<string, any> | undefined {
  if (spec === undefined || spec === true) return src
  if (spec === false) return undefined
  const includes = typeof spec === 'string' ? [spec] : Array.isArray(spec) ? spec : ((spec as any).includes ?? [])
  if (!includes.length) return src
  return Object.fromEntries(Object.entries(src).filter(([k]) => includes.includes(k)))
}

export async function startFakeElasticsearch(
  opts: { version?: string; auth?: { username: string; password: string } } = {},
): Promise<FakeElasticsearch> {
  const endpoints = loadEndpoints()
  const indices = new Map<string, Index>()
  const pits = new Map<string, Pit>()
  const requests: FakeElasticsearch['requests'] = []
  let seq = 0
  const version = opts.version ?? '8.14.3'

  function route(method: string, path: string): { ep: Endpoint; parts: Record<string, string> } {
    let candidate: { ep: Endpoint; parts: Record<string, string>; literal: boolean } | undefined
    let pathKnown = false
    for (const ep of endpoints) {
      for (const p of ep.paths) {
        const m = p.re.exec(path)
        if (!m) continue
        pathKnown = true
        if (!p.methods.includes(method)) continue
        const parts = Object.fromEntries(p.parts.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]))
        if (!candidate || (p.literal && !candidate.literal)) candidate = { ep, parts, literal: p.literal }
      }
    }
    if (!candidate) {
      throw pathKnown
        ? new EsError(405, 'method_not_allowed', `Incorrect HTTP method for uri [${path}] and method [${method}]`)
        : new EsError(400, 'no_handler_found', `no handler found for uri [${path}] and method [${method}]`)
    }
    return candidate
  }

  function checkParams(ep: Endpoint, query: URLSearchParams): void {
    for (const [k, v] of query) {
      if (GLOBAL_PARAMS.has(k)) continue
      const spec = ep.params[k]
      if (!spec)
        throw new EsError(
          400,
          'illegal_argument_exception',
          `request [${ep.name}] contains unrecognized parameter: [${k}]`,
        )
      if (spec.type === 'boolean' && !['true', 'false', ''].includes(v))
        throw new EsError(
          400,
          'illegal_argument_exception',
          `Failed to parse value [${v}] as only [true] or [false] are allowed.`,
        )
      if (spec.type === 'enum' && spec.options && !v.split(',').every((x) => spec.options!.includes(x)))
        throw new EsError(400, 'illegal_argument_exception', `invalid value [${v}] for [${k}]`)
      if ((spec.type === 'number' || spec.type === 'int') && !/^-?\d+$/.test(v))
        throw new EsError(400, 'illegal_argument_exception', `invalid number [${v}] for [${k}]`)
    }
    for (const [k, spec] of Object.entries(ep.params)) {
      if (spec.required && !query.has(k))
        throw new EsError(400, 'action_request_validation_exception', `Validation Failed: 1: [${k}] is required;`)
    }
  }

  function checkMediaType(h: string | undefined, ndjson: boolean, header: string): void {
    if (!h) return
    const t = h.split(',')[0]!.trim().toLowerCase()
    const compat = /compatible-with=(\d+)/.exec(t)
    if (compat && compat[1] !== '8' && compat[1] !== '7') {
      throw new EsError(
        400,
        'media_type_header_exception',
        `Invalid media-type value on headers [${header}]; A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version. Accept=${compat[1]}`,
      )
    }
    const base = t.split(';')[0]!.trim()
    const ok = ndjson
      ? [
          'application/x-ndjson',
          'application/vnd.elasticsearch+x-ndjson',
          'application/json',
          'application/vnd.elasticsearch+json',
        ].includes(base)
      : ['application/json', 'application/vnd.elasticsearch+json', 'text/plain', '*/*'].includes(base)
    if (!ok) throw new EsError(406, 'media_type_header_exception', `Content-Type header [${h}] is not supported`)
  }

  const getIndex = (name: string): Index => {
    const ix = indices.get(name)
    if (!ix) throw new EsError(404, 'index_not_found_exception', `no such index [${name}]`, { index: name })
    return ix
  }

  function indexDoc(ix: Index, name: string, id: string, src: any): 'created' | 'updated' {
    if (!src || typeof src !== 'object' || Array.isArray(src))
      throw bad('document must be an object', 'mapper_parsing_exception')
    const props = ix.mappings.properties
    for (const [f, v] of Object.entries(src)) {
      const p = props[f]
      if (p?.type === 'dense_vector') {
        if (!Array.isArray(v) || v.length !== p.dims)
          throw new EsError(
            400,
            'document_parsing_exception',
            `[1:1] failed to parse: The [dense_vector] field [${f}] in doc [${id}] has a different number of dimensions [${Array.isArray(v) ? v.length : 0}] than defined in the mapping [${p.dims}]`,
          )
        if (p.similarity === 'cosine' && v.every((x: number) => x === 0))
          throw new EsError(
            400,
            'document_parsing_exception',
            `The [cosine] similarity does not support vectors with zero magnitude.`,
          )
      } else if (p?.type === 'object' || (p === undefined && v && typeof v === 'object' && !Array.isArray(v))) {
        const obj = (props[f] ??= { type: 'object', properties: {} })
        obj.properties ??= {}
        for (const [k, x] of Object.entries(v as object)) {
          if (!obj.properties[k] && typeof x === 'string')
            obj.properties[k] = { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } }
        }
      } else if (p === undefined && typeof v === 'string') {
        props[f] = { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } }
      }
    }
    void name
    const had = ix.docs.has(id)
    ix.docs.set(id, { seq: had ? ix.docs.get(id)!.seq : ++seq, source: JSON.parse(JSON.stringify(src)) })
    return had ? 'updated' : 'created'
  }

  function search(indexName: string | undefined, body: any, query: URLSearchParams): unknown {
    body ??= {}
    for (const k of Object.keys(body))
      if (!SEARCH_BODY_KEYS.has(k))
        throw new EsError(400, 'parsing_exception', `Unknown key for a START_OBJECT in [${k}].`)
    let docs: Array<[string, Doc]>
    let idx: string
    let pitId: string | undefined
    if (body.pit) {
      if (indexName)
        throw new EsError(
          400,
          'action_request_validation_exception',
          'Validation Failed: 1: [indices] cannot be used with point in time. Do not specify any index with point in time.;',
        )
      for (const k of Object.keys(body.pit))
        if (!['id', 'keep_alive'].includes(k)) throw bad(`[pit] unknown field [${k}]`)
      const pit = pits.get(body.pit.id)
      if (!pit) throw new EsError(404, 'search_context_missing_exception', 'No search context found for id')
      docs = pit.snapshot
      idx = pit.index
      pitId = body.pit.id
    } else {
      if (!indexName) throw new EsError(501, 'fake', 'fake elasticsearch: search without an index')
      idx = indexName
      docs = [...getIndex(indexName).docs.entries()]
    }
    if (query.has('scroll')) throw new EsError(501, 'fake', 'fake elasticsearch: scroll not implemented')
    const size = body.size ?? (query.has('size') ? Number(query.get('size')) : 10)
    if (!Number.isInteger(size) || size < 0) throw bad('[size] must be a non-negative integer')
    if (body.search_after !== undefined && !body.sort)
      throw new EsError(
        400,
        'action_request_validation_exception',
        'Validation Failed: 1: [search_after] requires sort;',
      )
    let hits: Array<{ id: string; doc: Doc; score: number | null; sort?: unknown[] }>
    if (body.knn) {
      const knns = Array.isArray(body.knn) ? body.knn : [body.knn]
      if (knns.length !== 1) throw new EsError(501, 'fake', 'fake elasticsearch: one knn clause only')
      const knn = knns[0]
      for (const k of Object.keys(knn)) if (!KNN_KEYS.has(k)) throw bad(`[knn] unknown field [${k}]`)
      if (typeof knn.field !== 'string' || !Array.isArray(knn.query_vector))
        throw bad('[knn] requires field and query_vector')
      const k = knn.k ?? size
      const nc = knn.num_candidates ?? Math.min(Math.round(1.5 * k), 10000)
      if (!Number.isInteger(k) || k < 1) throw bad('[k] must be greater than 0', 'illegal_argument_exception')
      if (nc < k) throw bad(`[num_candidates] cannot be less than [k]`, 'illegal_argument_exception')
      if (nc > 10000) throw bad('[num_candidates] cannot exceed [10000]', 'illegal_argument_exception')
      const mapping = getIndex(idx).mappings.properties[knn.field]
      if (mapping?.type !== 'dense_vector' || mapping.index === false)
        throw bad(
          `failed to create query: field [${knn.field}] is not an indexed dense_vector`,
          'search_phase_execution_exception',
        )
      if (knn.query_vector.length !== mapping.dims)
        throw bad(
          `the query vector has a different dimension [${knn.query_vector.length}] than the index vectors [${mapping.dims}]`,
          'illegal_argument_exception',
        )
      const filters = knn.filter === undefined ? [] : Array.isArray(knn.filter) ? knn.filter : [knn.filter]
      hits = docs
        .filter(
          ([id, d]) => Array.isArray(d.source[knn.field]) && filters.every((f: unknown) => matchQuery(f, id, d.source)),
        )
        .map(([id, doc]) => ({ id, doc, score: (1 + cosine(knn.query_vector, doc.source[knn.field])) / 2 }))
        .sort((a, b) => b.score! - a.score!)
        .slice(0, k)
      if (body.query) hits = hits.filter((h) => matchQuery(body.query, h.id, h.doc.source))
    } else {
      hits = docs
        .filter(([id, d]) => body.query === undefined || matchQuery(body.query, id, d.source))
        .map(([id, doc]) => ({ id, doc, score: 1 }))
    }
    if (body.sort) {
      const sorts = Array.isArray(body.sort) ? body.sort : [body.sort]
      if (sorts.length !== 1 || !('_shard_doc' in (typeof sorts[0] === 'string' ? { [sorts[0]]: 1 } : sorts[0])))
        throw new EsError(501, 'fake', 'fake elasticsearch: only sort [_shard_doc] is implemented')
      if (!pitId)
        throw bad('[_shard_doc] sort field cannot be used without [point in time]', 'illegal_argument_exception')
      hits = hits.sort((a, b) => a.doc.seq - b.doc.seq).map((h) => ({ ...h, score: null, sort: [h.doc.seq] }))
      if (body.search_after !== undefined) {
        if (!Array.isArray(body.search_after) || body.search_after.length !== 1)
          throw bad('search_after has 1 value(s) but sort has 1.', 'illegal_argument_exception')
        const after = Number(body.search_after[0])
        hits = hits.filter((h) => h.doc.seq > after)
      }
    }
    const total = hits.length
    const from = body.from ?? 0
    hits = hits.slice(from, from + size)
    return {
      ...(pitId ? { pit_id: pitId } : {}),
      took: 1,
      timed_out: false,
      _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
      hits: {
        ...(body.track_total_hits === false ? {} : { total: { value: total, relation: 'eq' } }),
        max_score: hits.length && hits[0]!.score !== null ? Math.max(...hits.map((h) => h.score ?? 0)) : null,
        hits: hits.map((h) => ({
          _index: idx,
          _id: h.id,
          _score: h.score,
          ...(pickSource(h.doc.source, body._source) ? { _source: pickSource(h.doc.source, body._source) } : {}),
          ...(h.sort ? { sort: h.sort } : {}),
        })),
      },
    }
  }

  function bulk(pathIndex: string | undefined, raw: string, query: URLSearchParams): unknown {
    if (!raw.endsWith('\n'))
      throw bad('The bulk request must be terminated by a newline [\\n]', 'illegal_argument_exception')
    const lines = raw.split('\n').filter((l) => l.length)
    const items: unknown[] = []
    let errors = false
    for (let i = 0; i < lines.length; i++) {
      const action = JSON.parse(lines[i]!)
      const keys = Object.keys(action)
      if (keys.length !== 1 || !['index', 'create', 'update', 'delete'].includes(keys[0]!))
        throw bad(
          `Malformed action/metadata line [${i + 1}], expected one of [create, delete, index, update]`,
          'illegal_argument_exception',
        )
      const op = keys[0]!
      const meta = action[op]
      for (const k of Object.keys(meta)) {
        if (
          ![
            '_index',
            '_id',
            'routing',
            'if_seq_no',
            'if_primary_term',
            'version',
            'version_type',
            'pipeline',
            'require_alias',
            'dynamic_templates',
            'retry_on_conflict',
            'op_type',
          ].includes(k)
        ) {
          throw bad(
            `Action/metadata line [${i + 1}] contains an unknown parameter [${k}]`,
            'illegal_argument_exception',
          )
        }
      }
      const name = meta._index ?? pathIndex
      if (!name)
        throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: index is missing;')
      if (op === 'update' || op === 'create')
        throw new EsError(501, 'fake', `fake elasticsearch: bulk ${op} not implemented`)
      if (op === 'index') {
        const src = JSON.parse(lines[++i] ?? 'null')
        const ix = indices.get(name)
        if (!ix) {
          errors = true
          items.push({
            index: {
              _index: name,
              _id: meta._id,
              status: 404,
              error: { type: 'index_not_found_exception', reason: `no such index [${name}]` },
            },
          })
          continue
        }
        const id = meta._id ?? randomUUID().replace(/-/g, '').slice(0, 20)
        try {
          const result = indexDoc(ix, name, id, src)
          items.push({
            index: { _index: name, _id: id, _version: 1, result, status: result === 'created' ? 201 : 200 },
          })
        } catch (e) {
          if (!(e instanceof EsError)) throw e
          errors = true
          items.push({ index: { _index: name, _id: id, status: e.status, error: { type: e.type, reason: e.message } } })
        }
      } else {
        const ix = indices.get(name)
        const found = !!ix?.docs.delete(meta._id)
        items.push({
          delete: { _index: name, _id: meta._id, result: found ? 'deleted' : 'not_found', status: found ? 200 : 404 },
        })
      }
    }
    void query
    return { took: 1, errors, items }
  }

  async function handle(req: IncomingMessage, raw: string): Promise<{ status: number; body?: unknown }> {
    const url = new URL(req.url ?? '/', 'http://x')
    const method = req.method ?? 'GET'
    if (opts.auth) {
      const want = `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`
      if (req.headers.authorization !== want)
        throw new EsError(401, 'security_exception', 'unable to authenticate user')
    }
    const { ep, parts } = route(method, url.pathname)
    checkParams(ep, url.searchParams)
    checkMediaType(req.headers.accept, false, 'Accept')
    if (raw.length) checkMediaType(req.headers['content-type'], ep.name === 'bulk', 'Content-Type')
    if (ep.bodyRequired && !raw.length) throw new EsError(400, 'parse_exception', 'request body is required')
    const body = raw.length && ep.name !== 'bulk' ? JSON.parse(raw) : undefined
    const q = url.searchParams
    switch (ep.name) {
      case 'info':
        return {
          status: 200,
          body: {
            name: 'fake',
            cluster_name: 'fake',
            cluster_uuid: 'x',
            version: {
              number: version,
              build_flavor: 'default',
              build_type: 'docker',
              lucene_version: '9.10.0',
              minimum_wire_compatibility_version: '7.17.0',
              minimum_index_compatibility_version: '7.0.0',
            },
            tagline: 'You Know, for Search',
          },
        }
      case 'indices.exists':
        return { status: indices.has(parts.index!) ? 200 : 404 }
      case 'indices.create': {
        const name = parts.index!
        if (name !== name.toLowerCase())
          throw new EsError(400, 'invalid_index_name_exception', `Invalid index name [${name}], must be lowercase`, {
            index: name,
          })
        if (indices.has(name))
          throw new EsError(400, 'resource_already_exists_exception', `index [${name}] already exists`, { index: name })
        for (const k of Object.keys(body ?? {}))
          if (!['aliases', 'mappings', 'settings'].includes(k))
            throw bad(`unknown key [${k}] for create index`, 'parse_exception')
        const mappings = body?.mappings ?? { properties: {} }
        for (const k of Object.keys(mappings))
          if (!['properties', 'dynamic', '_source', 'dynamic_templates', '_meta'].includes(k))
            throw bad(`Root mapping definition has unsupported parameters: [${k}]`, 'mapper_parsing_exception')
        checkProperties(mappings.properties ?? {}, 'properties')
        indices.set(name, {
          mappings: { properties: JSON.parse(JSON.stringify(mappings.properties ?? {})) },
          docs: new Map(),
        })
        return { status: 200, body: { acknowledged: true, shards_acknowledged: true, index: name } }
      }
      case 'indices.delete': {
        const name = parts.index!
        if (!indices.has(name)) {
          if (q.get('ignore_unavailable') === 'true') return { status: 200, body: { acknowledged: true } }
          getIndex(name)
        }
        indices.delete(name)
        return { status: 200, body: { acknowledged: true } }
      }
      case 'indices.get_mapping': {
        if (!parts.index) throw new EsError(501, 'fake', 'fake elasticsearch: _mapping without an index')
        const ix = getIndex(parts.index)
        return { status: 200, body: { [parts.index]: { mappings: ix.mappings } } }
      }
      case 'indices.refresh':
        if (parts.index) getIndex(parts.index)
        return { status: 200, body: { _shards: { total: 1, successful: 1, failed: 0 } } }
      case 'bulk':
        return { status: 200, body: bulk(parts.index, raw, q) }
      case 'count': {
        if (!parts.index) throw new EsError(501, 'fake', 'fake elasticsearch: _count without an index')
        for (const k of Object.keys(body ?? {}))
          if (k !== 'query') throw new EsError(400, 'parsing_exception', `request does not support [${k}]`)
        const ix = getIndex(parts.index)
        const n = [...ix.docs.entries()].filter(
          ([id, d]) => !body?.query || matchQuery(body.query, id, d.source),
        ).length
        return { status: 200, body: { count: n, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } } }
      }
      case 'search':
        return { status: 200, body: search(parts.index, body, q) }
      case 'open_point_in_time': {
        const ix = getIndex(parts.index!)
        if (!/^\d+(ms|s|m|h|d)$/.test(q.get('keep_alive')!))
          throw new EsError(
            400,
            'illegal_argument_exception',
            `failed to parse setting [keep_alive] with value [${q.get('keep_alive')}]`,
          )
        const id = Buffer.from(randomUUID()).toString('base64')
        pits.set(id, { index: parts.index!, snapshot: [...ix.docs.entries()].map(([k, d]) => [k, d]) })
        return { status: 200, body: { id } }
      }
      case 'close_point_in_time': {
        if (!body || typeof body.id !== 'string')
          throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: [id] is required;')
        const ok = pits.delete(body.id)
        return { status: ok ? 200 : 404, body: { succeeded: ok, num_freed: ok ? 1 : 0 } }
      }
      default:
        throw new EsError(501, 'fake', `fake elasticsearch: ${ep.name} is not implemented`)
    }
  }

  const { url, close } = await serveEsLike({
    handle,
    headers: {
      'content-type': 'application/vnd.elasticsearch+json;compatible-with=8',
      'x-elastic-product': 'Elasticsearch',
    },
    errorHeaders: { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' },
    toError: (e) => (e instanceof EsError ? e : new EsError(500, 'exception', String((e as Error).message ?? e))),
    record: (req, u, raw, status) =>
      requests.push({
        method: req.method ?? 'GET',
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        body: safeParse(raw),
        status,
        contentType: req.headers['content-type'],
      }),
  })
  return { url, indices, pits, requests, close }
}

export function safeParse(raw: string): unknown {
  if (!raw) return undefined
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

/**
 * The HTTP side the Elasticsearch and OpenSearch fakes share: collect the body, run the handler, answer JSON (none for
 * HEAD), turn a thrown error into the servers' error envelope `{error: {root_cause: [cause], …cause}, status}`, and log
 * every request with its status.
 */
export async function serveEsLike<R extends { status: number; body?: unknown }>(o: {
  handle: (req: IncomingMessage, raw: string) => Promise<R>
  headers: Record<string, string>
  errorHeaders: Record<string, string>
  toError: (e: unknown) => EsError
  record: (req: IncomingMessage, url: URL, raw: string, status: number, result?: R) => void
}): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const url = new URL(req.url ?? '/', 'http://x')
      o.handle(req, raw)
        .then((r) => {
          o.record(req, url, raw, r.status, r)
          res.writeHead(r.status, o.headers)
          res.end(r.body === undefined || req.method === 'HEAD' ? undefined : JSON.stringify(r.body))
        })
        .catch((e: unknown) => {
          const err = o.toError(e)
          o.record(req, url, raw, err.status)
          const cause = { type: err.type, reason: err.message, ...err.extra }
          res.writeHead(err.status, o.errorHeaders)
          res.end(
            req.method === 'HEAD'
              ? undefined
              : JSON.stringify({ error: { root_cause: [cause], ...cause }, status: err.status }),
          )
        })
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.()
        server.close(() => r())
      }),
  }
}
