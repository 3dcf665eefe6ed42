import type { IncomingMessage } from 'node:http'
import { randomUUID } from 'node:crypto'
import { EsError, matchQuery, pickSource, safeParse, serveEsLike } from './elasticsearch.js'
import { compareVersions, OpenApi31 } from './openapi31.js'
import { apiFixture } from './api-fixtures.js'

/**
 * An in-process OpenSearch server (with the k-NN plugin) for tests. Every request is matched against the OpenSearch
 * API specification (reduced: test/fixtures/api/opensearch-v0.2.0.json; the original is
 * the shared reference material, specs/opensearch/api-spec-v0.2.0; OpenAPI 3.1, `$ref`s resolved relative to each
 * file): an operation missing from the spec or outside its x-version-added/x-version-removed range for the version
 * the fake reports is "no handler" (400); unknown query parameters, parameter values or bodies the schemas reject
 * are 400. State: indices (settings, mappings, documents with refresh visibility), points in time, scrolls.
 * Scores follow the k-NN plugin's l2 space: 1 / (1 + squared distance).
 */
export const OS_SPEC = 'opensearch-v0.2.0'
const GLOBAL_PARAMS = new Set(['pretty', 'human', 'error_trace', 'source', 'filter_path'])

let specCache: OpenApi31 | undefined
const spec = () =>
  (specCache ??= new OpenApi31(apiFixture(OS_SPEC).files!, ['namespaces/_core.yaml', 'namespaces/indices.yaml']))

interface Doc {
  seq: number
  source: Record<string, any>
  visible: boolean
}
interface Index {
  settings: Record<string, unknown>
  mappings: { properties: Record<string, any> }
  docs: Map<string, Doc>
}

export interface FakeOpensearch {
  url: string
  version: string
  indices: Map<string, Index>
  pits: Map<string, unknown>
  scrolls: Map<string, unknown>
  requests: Array<{
    method: string
    path: string
    query: Record<string, string>
    body: unknown
    status: number
    operationId?: string
  }>
  close(): Promise<void>
}

const bad = (reason: string, type = 'x_content_parse_exception') => new EsError(400, type, reason)

function l2score(a: number[], b: number[]): number {
  let d = 0
  for (let i = 0; i < a.length; i++) d += (a[i]! - b[i]!) ** 2
  return 1 / (1 + d)
}

/** OpenSearch returns index settings flattened under "index" with string values */
function flatSettings(s: Record<string, any>): Record<string, unknown> {
  const idx = { ...s.index }
  for (const [k, v] of Object.entries(s)) if (k !== 'index') idx[k.replace(/^index\./, '')] = v
  const str = (x: unknown): unknown =>
    x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, str(v)])) : String(x)
  return { number_of_shards: '1', number_of_replicas: '1', ...(str(idx) as object), provided_name: undefined }
}

export async function startFakeOpensearch(
  opts: { version?: string; auth?: { username: string; password: string } } = {},
): Promise<FakeOpensearch> {
  const api = spec()
  const version = opts.version ?? '2.19.1'
  const indices = new Map<string, Index>()
  const pits = new Map<string, { index: string; snapshot: Array<[string, Doc]> }>()
  const scrolls = new Map<string, { index: string; rest: Array<[string, Doc]>; size: number; source: unknown }>()
  const requests: FakeOpensearch['requests'] = []
  let seq = 0

  const getIndex = (name: string): Index => {
    const ix = indices.get(name)
    if (!ix) throw new EsError(404, 'index_not_found_exception', `no such index [${name}]`, { index: name })
    return ix
  }

  function validate(file: string, pointer: string, value: unknown, what: string): void {
    const v = api.validator(file, pointer)
    if (!v(value)) {
      const e = v.errors?.[0]
      throw bad(
        `${what} does not match the OpenSearch API specification: ${e?.instancePath || '/'} ${e?.message}`,
        'illegal_argument_exception',
      )
    }
  }

  function checkQueryParam(file: string, pointer: string, name: string, raw: string): void {
    const candidates: unknown[] = [raw]
    if (/^-?\d+(\.\d+)?$/.test(raw)) candidates.push(Number(raw))
    if (raw === 'true' || raw === 'false') candidates.push(raw === 'true')
    if (raw.includes(',')) candidates.push(raw.split(','))
    const v = api.validator(file, pointer)
    if (!candidates.some((c) => v(c)))
      throw bad(`invalid value [${raw}] for parameter [${name}]`, 'illegal_argument_exception')
  }

  function visibleDocs(ix: Index): Array<[string, Doc]> {
    return [...ix.docs.entries()].filter(([, d]) => d.visible)
  }

  /** the query forms Dify and dify-ops send: knn, script_score knn_score, and the filter DSL of the ES fake */
  function scoreDocs(
    ix: Index,
    docs: Array<[string, Doc]>,
    query: any,
  ): Array<{ id: string; doc: Doc; score: number }> {
    if (query?.knn) {
      const [field, spec] = Object.entries<any>(query.knn)[0] ?? ['', {}]
      const mapping = ix.mappings.properties[field]
      if (mapping?.type !== 'knn_vector')
        throw bad(`Field '${field}' is not knn_vector type.`, 'illegal_argument_exception')
      if (!Array.isArray(spec.vector) || spec.vector.length !== mapping.dimension)
        throw bad(
          `Query vector has invalid dimension: ${spec.vector?.length}. Dimension should be: ${mapping.dimension}`,
          'illegal_argument_exception',
        )
      if (!Number.isInteger(spec.k) || spec.k < 1 || spec.k > 10000)
        throw bad('[knn] requires k in 1..10000', 'illegal_argument_exception')
      return docs
        .filter(([id, d]) => Array.isArray(d.source[field]) && (!spec.filter || matchQuery(spec.filter, id, d.source)))
        .map(([id, doc]) => ({ id, doc, score: l2score(spec.vector, doc.source[field]) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, spec.k)
    }
    if (query?.script_score) {
      const ss = query.script_score
      const script = ss.script
      if (script?.lang !== 'knn' || script.source !== 'knn_score')
        throw new EsError(501, 'fake', 'fake opensearch: only the knn_score script is implemented')
      const { field, query_value: qv, space_type: space } = script.params ?? {}
      if (space !== 'l2') throw new EsError(501, 'fake', `fake opensearch: space_type ${space} not implemented`)
      const mapping = ix.mappings.properties[field]
      if (mapping?.type !== 'knn_vector')
        throw bad(`Field '${field}' is not knn_vector type.`, 'illegal_argument_exception')
      if (!Array.isArray(qv) || qv.length !== mapping.dimension)
        throw bad('query vector dimension mismatch', 'illegal_argument_exception')
      return docs
        .filter(([id, d]) => matchQuery(ss.query ?? { match_all: {} }, id, d.source) && Array.isArray(d.source[field]))
        .map(([id, doc]) => ({ id, doc, score: l2score(qv, doc.source[field]) }))
        .sort((a, b) => b.score - a.score)
    }
    return docs
      .filter(([id, d]) => query === undefined || matchQuery(query, id, d.source))
      .map(([id, doc]) => ({ id, doc, score: 1 }))
  }

  function sortKey(sorts: any[]): { field: string; desc: boolean } {
    if (sorts.length !== 1) throw new EsError(501, 'fake', 'fake opensearch: one sort key only')
    const s = sorts[0]
    if (typeof s === 'string') return { field: s, desc: false }
    const [field, o] = Object.entries<any>(s)[0] ?? ['', undefined]
    return { field, desc: (typeof o === 'string' ? o : o?.order) === 'desc' }
  }

  function search(pathIndex: string | undefined, body: any, q: URLSearchParams): unknown {
    body ??= {}
    let index: string
    let docs: Array<[string, Doc]>
    let pitId: string | undefined
    if (body.pit) {
      if (pathIndex)
        throw new EsError(
          400,
          'action_request_validation_exception',
          'Validation Failed: 1: [indices] cannot be used with point in time. Do not specify any index with point in time.;',
        )
      const pit = pits.get(body.pit.id)
      if (!pit) throw new EsError(404, 'search_context_missing_exception', 'No search context found for id')
      index = pit.index
      docs = pit.snapshot
      pitId = body.pit.id
    } else {
      if (!pathIndex) throw new EsError(501, 'fake', 'fake opensearch: search without an index')
      index = pathIndex
      docs = visibleDocs(getIndex(index))
    }
    const ix = getIndex(index)
    const hits = scoreDocs(ix, docs, body.query)
    let sorted: Array<{ id: string; doc: Doc; score: number | null; sort?: unknown[] }> = hits
    if (body.sort) {
      const { field, desc } = sortKey(Array.isArray(body.sort) ? body.sort : [body.sort])
      if (field === '_doc')
        sorted = hits.sort((a, b) => a.doc.seq - b.doc.seq).map((h) => ({ ...h, score: null, sort: [h.doc.seq] }))
      else {
        const m = field
          .split('.')
          .reduce((p: any, k) => p?.properties?.[k] ?? p?.[k], { properties: ix.mappings.properties })
        if (m?.type !== 'keyword')
          throw bad(
            `Text fields are not optimised for operations that require per-document field data like aggregations and sorting [${field}]`,
            'illegal_argument_exception',
          )
        const val = (h: { doc: Doc }) => String(field.split('.').reduce((o: any, k) => o?.[k], h.doc.source) ?? '')
        sorted = hits
          .sort((a, b) => (val(a) < val(b) ? -1 : val(a) > val(b) ? 1 : 0) * (desc ? -1 : 1))
          .map((h) => ({ ...h, score: null, sort: [val(h)] }))
      }
      if (body.search_after !== undefined) {
        if (!Array.isArray(body.search_after) || body.search_after.length !== 1)
          throw bad('search_after has wrong number of values', 'illegal_argument_exception')
        const a = body.search_after[0]
        sorted = sorted.filter((h) => (desc ? h.sort![0]! < a : h.sort![0]! > a))
      }
    } else if (body.search_after !== undefined) {
      throw new EsError(
        400,
        'action_request_validation_exception',
        'Validation Failed: 1: [search_after] requires sort;',
      )
    }
    const size = body.size ?? (q.has('size') ? Number(q.get('size')) : 10)
    if (size + (body.from ?? 0) > 10000)
      throw new EsError(
        400,
        'illegal_argument_exception',
        'Result window is too large, from + size must be less than or equal to: [10000]',
      )
    let scrollId: string | undefined
    const total = sorted.length
    if (q.has('scroll')) {
      scrollId = Buffer.from(randomUUID()).toString('base64')
      scrolls.set(scrollId, { index, rest: sorted.slice(size).map((h) => [h.id, h.doc]), size, source: body._source })
    }
    const page = sorted.slice(body.from ?? 0, (body.from ?? 0) + size)
    return render(index, page, total, body._source, { pit_id: pitId, _scroll_id: scrollId })
  }

  function render(
    index: string,
    page: Array<{ id: string; doc: Doc; score: number | null; sort?: unknown[] }>,
    total: number,
    source: unknown,
    extra: Record<string, unknown>,
  ) {
    const scores = page.map((h) => h.score).filter((s): s is number => s !== null)
    return {
      ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
      took: 1,
      timed_out: false,
      _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
      hits: {
        total: { value: total, relation: 'eq' },
        max_score: scores.length ? Math.max(...scores) : null,
        hits: page.map((h) => {
          const src = pickSource(h.doc.source, source)
          return {
            _index: index,
            _id: h.id,
            _score: h.score,
            ...(src ? { _source: src } : {}),
            ...(h.sort ? { sort: h.sort } : {}),
          }
        }),
      },
    }
  }

  function indexDoc(ix: Index, id: string, src: any, visible: boolean): 'created' | 'updated' {
    for (const [f, v] of Object.entries<any>(src)) {
      const p = ix.mappings.properties[f]
      if (p?.type === 'knn_vector' && (!Array.isArray(v) || v.length !== p.dimension)) {
        throw new EsError(
          400,
          'mapper_parsing_exception',
          `Vector dimension mismatch. Expected: ${p.dimension}, Given: ${Array.isArray(v) ? v.length : 0}`,
        )
      }
    }
    const had = ix.docs.get(id)
    ix.docs.set(id, { seq: had?.seq ?? ++seq, source: JSON.parse(JSON.stringify(src)), visible })
    return had ? 'updated' : 'created'
  }

  function bulk(pathIndex: string | undefined, lines: any[], q: URLSearchParams): unknown {
    const visible = q.get('refresh') === 'true' || q.get('refresh') === '' || q.get('refresh') === 'wait_for'
    const items: unknown[] = []
    let errors = false
    for (let i = 0; i < lines.length; i++) {
      const [op] = Object.keys(lines[i]) as [string]
      const meta = lines[i][op]
      if (!['index', 'delete'].includes(op))
        throw new EsError(501, 'fake', `fake opensearch: bulk ${op} not implemented`)
      const name = meta._index ?? pathIndex
      if (!name)
        throw new EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: index is missing;')
      const ix = indices.get(name)
      if (op === 'index') {
        const src = lines[++i]
        const id = meta._id ?? randomUUID().replace(/-/g, '').slice(0, 20)
        if (!ix) {
          errors = true
          items.push({
            index: {
              _index: name,
              _id: id,
              status: 404,
              error: { type: 'index_not_found_exception', reason: `no such index [${name}]` },
            },
          })
          continue
        }
        try {
          const result = indexDoc(ix, id, src, visible)
          items.push({
            index: { _index: name, _id: id, _version: 1, result, status: result === 'created' ? 201 : 200 },
          })
        } catch (e) {
          if (!(e instanceof EsError)) throw e
          errors = true
          items.push({ index: { _index: name, _id: id, status: e.status, error: { type: e.type, reason: e.message } } })
        }
      } else {
        const found = !!ix?.docs.delete(meta._id)
        items.push({
          delete: { _index: name, _id: meta._id, result: found ? 'deleted' : 'not_found', status: found ? 200 : 404 },
        })
      }
    }
    if (visible) for (const ix of indices.values()) for (const d of ix.docs.values()) d.visible = true
    return { took: 1, errors, items }
  }

  async function handle(
    req: IncomingMessage,
    raw: string,
  ): Promise<{ status: number; body?: unknown; operationId?: string }> {
    const url = new URL(req.url ?? '/', 'http://x')
    const method = req.method ?? 'GET'
    if (opts.auth) {
      const want = `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`
      if (req.headers.authorization !== want) throw new EsError(401, 'security_exception', 'Unauthorized')
    }
    const m = api.match(method, url.pathname)
    if (!('operation' in m))
      throw new EsError(
        m.pathKnown ? 405 : 400,
        'no_handler_found',
        `no handler found for uri [${url.pathname}] and method [${method}]`,
      )
    const { operation, params: parts } = m
    const op = operation.op
    const group: string = op['x-operation-group']
    if (op['x-version-added'] && compareVersions(version, op['x-version-added']) < 0)
      throw new EsError(
        400,
        'no_handler_found',
        `no handler found for uri [${url.pathname}] and method [${method}] (${group} is new in ${op['x-version-added']})`,
      )
    if (op['x-version-removed'] && compareVersions(version, op['x-version-removed']) >= 0)
      throw new EsError(400, 'no_handler_found', `no handler found for uri [${url.pathname}] and method [${method}]`)
    const params = api.parameters(operation)
    for (const [k, v] of url.searchParams) {
      if (GLOBAL_PARAMS.has(k)) continue
      const p = params.find((x) => x.in === 'query' && x.name === k)
      if (!p)
        throw new EsError(
          400,
          'illegal_argument_exception',
          `request [${url.pathname}] contains unrecognized parameter: [${k}]`,
        )
      checkQueryParam(p.file, p.pointer, k, v)
    }
    for (const p of params)
      if (p.required && p.in === 'query' && !url.searchParams.has(p.name))
        throw new EsError(400, 'action_request_validation_exception', `Validation Failed: 1: [${p.name}] is required;`)
    const rb = api.requestBody(operation)
    let body: any
    if (raw.length) {
      if (!rb) throw bad(`request [${url.pathname}] does not support having a body`, 'illegal_argument_exception')
      const ct = String(req.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
      const ndjson = ct === 'application/x-ndjson'
      if (!['application/json', 'application/x-ndjson'].includes(ct))
        throw new EsError(406, 'media_type_header_exception', `Content-Type header [${ct}] is not supported`)
      const where = rb.content[ndjson ? 'application/x-ndjson' : 'application/json'] ?? Object.values(rb.content)[0]!
      if (group === 'bulk') {
        if (!raw.endsWith('\n'))
          throw bad('The bulk request must be terminated by a newline [\\n]', 'illegal_argument_exception')
        body = raw
          .split('\n')
          .filter((l) => l.length)
          .map((l) => JSON.parse(l))
      } else body = JSON.parse(raw)
      validate(where.file, where.pointer, body, `${group} body`)
    } else if (rb?.required) throw bad('request body is required', 'parse_exception')
    const q = url.searchParams
    const ok = (b: unknown) => ({ status: 200, body: b, operationId: op.operationId })
    switch (group) {
      case 'info':
        return ok({
          name: 'fake',
          cluster_name: 'fake',
          cluster_uuid: 'x',
          version: {
            distribution: 'opensearch',
            number: version,
            build_type: 'tar',
            build_hash: 'x',
            build_date: '2025-01-01T00:00:00Z',
            build_snapshot: false,
            lucene_version: '9.12.1',
            minimum_wire_compatibility_version: '7.10.0',
            minimum_index_compatibility_version: '7.0.0',
          },
          tagline: 'The OpenSearch Project: https://opensearch.org/',
        })
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
        const settings = body?.settings ?? {}
        const props = body?.mappings?.properties ?? {}
        const knnIndex = String(settings.index?.knn ?? settings['index.knn'] ?? 'false') === 'true'
        for (const [f, p] of Object.entries<any>(props)) {
          if (p.type === 'knn_vector' && p.method?.engine && p.method.engine !== 'lucene' && !knnIndex) {
            throw new EsError(
              400,
              'mapper_parsing_exception',
              `Failed to parse mapping [_doc]: Cannot set method for field [${f}]: index.knn is not true`,
            )
          }
        }
        indices.set(name, {
          settings: flatSettings(settings),
          mappings: { properties: JSON.parse(JSON.stringify(props)) },
          docs: new Map(),
        })
        return ok({ acknowledged: true, shards_acknowledged: true, index: name })
      }
      case 'indices.delete': {
        if (!indices.has(parts.index!) && q.get('ignore_unavailable') !== 'true') getIndex(parts.index!)
        indices.delete(parts.index!)
        return ok({ acknowledged: true })
      }
      case 'indices.get_mapping':
        if (!parts.index) throw new EsError(501, 'fake', 'fake opensearch: _mapping without an index')
        return ok({ [parts.index]: { mappings: getIndex(parts.index).mappings } })
      case 'indices.get_settings': {
        if (!parts.index || parts.name) throw new EsError(501, 'fake', 'fake opensearch: only GET /{index}/_settings')
        const ix = getIndex(parts.index)
        return ok({ [parts.index]: { settings: { index: { ...ix.settings, provided_name: parts.index } } } })
      }
      case 'indices.refresh':
        for (const [name, ix] of indices)
          if (!parts.index || parts.index === name) for (const d of ix.docs.values()) d.visible = true
        if (parts.index) getIndex(parts.index)
        return ok({ _shards: { total: 1, successful: 1, failed: 0 } })
      case 'bulk':
        return ok(bulk(parts.index, body, q))
      case 'count': {
        if (!parts.index) throw new EsError(501, 'fake', 'fake opensearch: _count without an index')
        const ix = getIndex(parts.index)
        return ok({
          count: scoreDocs(ix, visibleDocs(ix), body?.query).length,
          _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
        })
      }
      case 'search':
        return ok(search(parts.index, body, q))
      case 'create_pit': {
        const ix = getIndex(parts.index!)
        if (!q.has('keep_alive'))
          throw new EsError(
            400,
            'action_request_validation_exception',
            'Validation Failed: 1: keep alive not specified;',
          )
        const id = Buffer.from(randomUUID()).toString('base64')
        pits.set(id, { index: parts.index!, snapshot: visibleDocs(ix) })
        return ok({
          pit_id: id,
          _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
          creation_time: Date.now(),
        })
      }
      case 'delete_pit': {
        const ids: string[] = body.pit_id
        return ok({ pits: ids.map((id) => ({ pit_id: id, successful: pits.delete(id) })) })
      }
      case 'scroll': {
        const id = body?.scroll_id ?? q.get('scroll_id')
        const s = scrolls.get(id)
        if (!s) throw new EsError(404, 'search_context_missing_exception', `No search context found for id [${id}]`)
        const page = s.rest.slice(0, s.size).map(([hid, doc]) => ({ id: hid, doc, score: null, sort: [doc.seq] }))
        s.rest = s.rest.slice(s.size)
        return ok(render(s.index, page, page.length, s.source, { _scroll_id: id }))
      }
      case 'clear_scroll': {
        const ids: string[] = [body?.scroll_id ?? []].flat()
        for (const id of ids) scrolls.delete(id)
        return ok({ succeeded: true, num_freed: ids.length })
      }
      default:
        throw new EsError(501, 'fake', `fake opensearch: ${group} is not implemented`)
    }
  }

  const json = { 'content-type': 'application/json; charset=UTF-8' }
  const { url, close } = await serveEsLike({
    handle,
    headers: json,
    errorHeaders: json,
    toError: (e) =>
      e instanceof EsError
        ? e
        : e instanceof SyntaxError
          ? new EsError(400, 'parse_exception', e.message)
          : new EsError(500, 'exception', String((e as Error).message ?? e)),
    record: (req, u, raw, status, r) =>
      requests.push({
        method: req.method ?? 'GET',
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        body: safeParse(raw),
        status,
        operationId: r?.operationId,
      }),
  })
  return { url, version, indices, pits, scrolls, requests, close }
}
