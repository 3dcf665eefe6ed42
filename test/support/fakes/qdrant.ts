import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { OpenApi, type OpenApiOperation } from './openapi.js'
import { apiFixture } from './api-fixtures.js'

/**
 * An in-process Qdrant 1.8 REST server for tests: the server Dify's docker-compose ships (langgenius/qdrant:v1.8.3).
 * Every request is matched against Qdrant's openapi-v1.8.x.json (reduced: test/fixtures/api/qdrant-v1.8.x.json; the
 * original is the shared reference material, specs/qdrant/openapi-v1.8.x.json): an endpoint the spec does not
 * have is a 404 (e.g. /points/query, new in 1.10), a body the schema rejects is a 400 (e.g. unknown keys inside
 * a Filter), and every response is checked against the spec too. Only the endpoints dify-ops uses are implemented;
 * others answer 501 so a new use shows up. State (collections, points, payload indexes) is held in memory.
 */
export const QDRANT_SPEC = 'qdrant-v1.8.x'

type PointId = string | number
interface Point {
  id: PointId
  vector: number[]
  payload: Record<string, unknown>
}
interface Collection {
  size: number
  distance: string
  config: Record<string, unknown>
  points: Map<string, Point>
  payloadSchema: Map<string, { data_type: string; params?: Record<string, unknown> }>
}

export interface FakeQdrant {
  url: string
  collections: Map<string, Collection>
  /** every request: method, path, body — for assertions on what the adapter sent */
  requests: Array<{ method: string; path: string; body: unknown; status: number }>
  close(): Promise<void>
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const keyOf = (id: PointId) => (typeof id === 'number' ? `n:${id}` : `u:${canonicalUuid(id)}`)
function canonicalUuid(s: string): string {
  const h = s.replace(/-/g, '').toLowerCase()
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
/** Qdrant orders ids: integers first (numerically), then UUIDs (by bytes = by hex) */
function compareIds(a: PointId, b: PointId): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'number') return -1
  if (typeof b === 'number') return 1
  return a < b ? -1 : a > b ? 1 : 0
}

function getPath(payload: unknown, key: string): unknown[] {
  let cur: unknown[] = [payload]
  for (const part of key.split('.')) {
    const next: unknown[] = []
    for (const c of cur) {
      if (c && typeof c === 'object' && !Array.isArray(c) && part in (c as object)) {
        const v = (c as Record<string, unknown>)[part]
        if (Array.isArray(v)) next.push(...v)
        else next.push(v)
      }
    }
    cur = next
  }
  return cur
}

type Cond = Record<string, unknown>
function matches(p: Point, filter: Cond | null | undefined): boolean {
  if (!filter) return true
  const must = (filter.must as Cond[] | Cond | null | undefined) ?? []
  const should = (filter.should as Cond[] | Cond | null | undefined) ?? []
  const mustNot = (filter.must_not as Cond[] | Cond | null | undefined) ?? []
  const arr = (x: Cond[] | Cond) => (Array.isArray(x) ? x : [x])
  if (filter.min_should) throw new HttpError(501, 'fake qdrant: min_should is not implemented')
  if (!arr(must).every((c) => condition(p, c))) return false
  if (arr(mustNot).some((c) => condition(p, c))) return false
  const sh = arr(should)
  return sh.length === 0 || sh.some((c) => condition(p, c))
}

function condition(p: Point, c: Cond): boolean {
  if ('must' in c || 'should' in c || 'must_not' in c) return matches(p, c)
  if ('has_id' in c) return (c.has_id as PointId[]).some((id) => keyOf(id) === keyOf(p.id))
  if ('key' in c && c.match) {
    const values = getPath(p.payload, c.key as string)
    const m = c.match as Record<string, unknown>
    if ('value' in m) return values.some((v) => v === m.value)
    if ('any' in m) return values.some((v) => (m.any as unknown[]).includes(v))
    if ('except' in m) return values.length > 0 && values.every((v) => !(m.except as unknown[]).includes(v))
  }
  throw new HttpError(501, `fake qdrant: condition ${JSON.stringify(c)} is not implemented`)
}

const f32 = (v: number[]) => v.map(Math.fround)
function normalize(v: number[]): number[] {
  let n = 0
  for (const x of v) n += x * x
  n = Math.sqrt(n)
  return n === 0 ? f32(v) : v.map((x) => Math.fround(x / n))
}
function score(distance: string, a: number[], b: number[]): number {
  let dot = 0
  let d2 = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    d2 += (a[i]! - b[i]!) ** 2
  }
  if (distance === 'Cosine' || distance === 'Dot') return Math.fround(dot)
  if (distance === 'Euclid') return Math.fround(Math.sqrt(d2))
  throw new HttpError(501, `fake qdrant: distance ${distance} is not implemented`)
}

function selectPayload(p: Point, withPayload: unknown): Record<string, unknown> | null {
  if (withPayload === true) return p.payload
  if (!withPayload) return null
  throw new HttpError(501, 'fake qdrant: payload selectors are not implemented')
}

export async function startFakeQdrant(opts: { version?: string; apiKey?: string } = {}): Promise<FakeQdrant> {
  const spec = new OpenApi(apiFixture(QDRANT_SPEC).document!)
  const version = opts.version ?? '1.8.3'
  const collections = new Map<string, Collection>()
  const requests: FakeQdrant['requests'] = []

  const need = (name: string) => {
    const c = collections.get(name)
    if (!c) throw new HttpError(404, `Not found: Collection \`${name}\` doesn't exist!`)
    return c
  }

  const handlers: Record<string, (op: OpenApiOperation, body: any, q: URLSearchParams) => unknown> = {
    'GET /': () => ({ title: 'qdrant - vector search engine', version }),
    'GET /collections': () => ({ collections: [...collections.keys()].map((name) => ({ name })) }),
    'GET /collections/{collection_name}/exists': (op) => ({ exists: collections.has(op.params.collection_name!) }),
    'GET /collections/{collection_name}': (op) => {
      const c = need(op.params.collection_name!)
      const payload_schema: Record<string, unknown> = {}
      for (const [k, v] of c.payloadSchema) {
        payload_schema[k] = {
          ...v,
          points: [...c.points.values()].filter((p) => getPath(p.payload, k).length > 0).length,
        }
      }
      return {
        status: 'green',
        optimizer_status: 'ok',
        vectors_count: c.points.size,
        indexed_vectors_count: 0,
        points_count: c.points.size,
        segments_count: 1,
        config: c.config,
        payload_schema,
      }
    },
    'PUT /collections/{collection_name}': (op, body) => {
      const name = op.params.collection_name!
      if (collections.has(name)) throw new HttpError(400, `Wrong input: Collection \`${name}\` already exists!`)
      const vectors = body.vectors
      if (!vectors || typeof vectors.size !== 'number')
        throw new HttpError(501, 'fake qdrant: only a single unnamed vector is implemented')
      const h = body.hnsw_config ?? {}
      collections.set(name, {
        size: vectors.size,
        distance: vectors.distance,
        points: new Map(),
        payloadSchema: new Map(),
        config: {
          params: {
            vectors: { size: vectors.size, distance: vectors.distance },
            shard_number: body.shard_number ?? 1,
            replication_factor: body.replication_factor ?? 1,
            write_consistency_factor: body.write_consistency_factor ?? 1,
            on_disk_payload: body.on_disk_payload ?? true,
          },
          hnsw_config: {
            m: h.m ?? 16,
            ef_construct: h.ef_construct ?? 100,
            full_scan_threshold: h.full_scan_threshold ?? 10000,
            max_indexing_threads: h.max_indexing_threads ?? 0,
            on_disk: h.on_disk ?? false,
            ...(h.payload_m != null ? { payload_m: h.payload_m } : {}),
          },
          optimizer_config: {
            deleted_threshold: 0.2,
            vacuum_min_vector_number: 1000,
            default_segment_number: 0,
            max_segment_size: null,
            memmap_threshold: null,
            indexing_threshold: 20000,
            flush_interval_sec: 5,
            max_optimization_threads: null,
          },
          wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
          quantization_config: null,
        },
      })
      return true
    },
    'DELETE /collections/{collection_name}': (op) => collections.delete(op.params.collection_name!),
    'PUT /collections/{collection_name}/index': (op, body) => {
      const c = need(op.params.collection_name!)
      const fs = body.field_schema
      if (typeof fs === 'string') c.payloadSchema.set(body.field_name, { data_type: fs })
      else if (fs && typeof fs === 'object') c.payloadSchema.set(body.field_name, { data_type: fs.type, params: fs })
      else throw new HttpError(400, 'Wrong input: field_schema is required')
      return { operation_id: 0, status: 'completed' }
    },
    'PUT /collections/{collection_name}/points': (op, body) => {
      const c = need(op.params.collection_name!)
      if (!Array.isArray(body.points)) throw new HttpError(501, 'fake qdrant: only the points list form is implemented')
      for (const p of body.points as Point[]) {
        if (!Array.isArray(p.vector))
          throw new HttpError(501, 'fake qdrant: only unnamed dense vectors are implemented')
        if (p.vector.length !== c.size) {
          throw new HttpError(
            400,
            `Wrong input: Vector inserting error: expected dim: ${c.size}, got ${p.vector.length}`,
          )
        }
        const id = typeof p.id === 'string' ? canonicalUuid(p.id) : p.id
        c.points.set(keyOf(id), {
          id,
          vector: c.distance === 'Cosine' ? normalize(p.vector) : f32(p.vector),
          payload: p.payload ?? {},
        })
      }
      return { operation_id: 0, status: 'completed' }
    },
    'POST /collections/{collection_name}/points/scroll': (op, body) => {
      const c = need(op.params.collection_name!)
      if (body.order_by) throw new HttpError(501, 'fake qdrant: order_by is not implemented')
      const limit = body.limit ?? 10
      const all = [...c.points.values()].filter((p) => matches(p, body.filter)).sort((a, b) => compareIds(a.id, b.id))
      const start =
        body.offset == null
          ? 0
          : all.findIndex(
              (p) => compareIds(p.id, typeof body.offset === 'string' ? canonicalUuid(body.offset) : body.offset) >= 0,
            )
      const page = start < 0 ? [] : all.slice(start, start + limit)
      const next = start < 0 ? undefined : all[start + limit]
      return {
        points: page.map((p) => ({
          id: p.id,
          payload: selectPayload(p, body.with_payload ?? true),
          vector: body.with_vector ? p.vector : null,
        })),
        next_page_offset: next ? next.id : null,
      }
    },
    'POST /collections/{collection_name}/points/count': (op, body) => {
      const c = need(op.params.collection_name!)
      return { count: [...c.points.values()].filter((p) => matches(p, body?.filter)).length }
    },
    'POST /collections/{collection_name}/points/search': (op, body) => {
      const c = need(op.params.collection_name!)
      if (!Array.isArray(body.vector))
        throw new HttpError(501, 'fake qdrant: only unnamed dense query vectors are implemented')
      if (body.vector.length !== c.size)
        throw new HttpError(
          400,
          `Wrong input: Vector dimension error: expected dim: ${c.size}, got ${body.vector.length}`,
        )
      const q = c.distance === 'Cosine' ? normalize(body.vector) : f32(body.vector)
      const higherIsBetter = c.distance !== 'Euclid'
      let scored = [...c.points.values()]
        .filter((p) => matches(p, body.filter))
        .map((p) => ({ p, s: score(c.distance, q, p.vector) }))
      if (body.score_threshold != null)
        scored = scored.filter((x) => (higherIsBetter ? x.s >= body.score_threshold : x.s <= body.score_threshold))
      scored.sort((a, b) => (higherIsBetter ? b.s - a.s : a.s - b.s) || compareIds(a.p.id, b.p.id))
      const offset = body.offset ?? 0
      return scored.slice(offset, offset + body.limit).map(({ p, s }) => ({
        id: p.id,
        version: 0,
        score: s,
        payload: selectPayload(p, body.with_payload ?? false),
        vector: body.with_vector ? p.vector : null,
      }))
    },
    'POST /collections/{collection_name}/points/delete': (op, body) => {
      const c = need(op.params.collection_name!)
      if (Array.isArray(body.points)) {
        for (const id of body.points as PointId[]) c.points.delete(keyOf(id))
      } else if (body.filter) {
        for (const [k, p] of c.points) if (matches(p, body.filter)) c.points.delete(k)
      } else {
        throw new HttpError(400, 'Wrong input: points selector')
      }
      return { operation_id: 0, status: 'completed' }
    },
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const started = process.hrtime.bigint()
      const url = new URL(req.url ?? '/', 'http://fake')
      let body: unknown
      const send = (status: number, payload: unknown, raw = false) => {
        requests.push({ method: req.method ?? '', path: url.pathname, body, status })
        const time = Number(process.hrtime.bigint() - started) / 1e9
        const out = raw
          ? payload
          : status < 300
            ? { result: payload, status: 'ok', time }
            : { status: { error: String(payload) }, time }
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(out))
      }
      try {
        if (opts.apiKey && req.headers['api-key'] !== opts.apiKey)
          throw new HttpError(401, 'Must provide an API key or an Authorization bearer token')
        const op = spec.match(req.method ?? 'GET', url.pathname)
        if (!op) throw new HttpError(404, `Not found: ${req.method} ${url.pathname}`)
        const text = Buffer.concat(chunks).toString('utf8')
        if (text) {
          try {
            body = JSON.parse(text)
          } catch {
            throw new HttpError(400, 'Json deserialize error: invalid JSON')
          }
        }
        const qErr = spec.checkQuery(op, url.searchParams)
        if (qErr) throw new HttpError(400, `Query deserialize error: ${qErr}`)
        const bErr = spec.checkRequestBody(op, body)
        if (bErr) throw new HttpError(400, `Json deserialize error: ${bErr}`)
        const h = handlers[`${op.method} ${op.template}`]
        if (!h) throw new HttpError(501, `fake qdrant: ${op.method} ${op.template} is not implemented`)
        const result = h(op, body, url.searchParams)
        // The real server answers GET / unwrapped ({title, version, commit}); the 1.8 spec wraps it in {result}.
        // The JS client expects the real shape, so the fake follows the server here.
        if (op.template === '/') return send(200, result, true)
        const time = 0
        const rErr = spec.checkResponse(op, 200, { result, status: 'ok', time })
        if (rErr) throw new HttpError(500, `fake qdrant produced a response its spec rejects: ${rErr}`)
        send(200, result)
      } catch (e) {
        send(e instanceof HttpError ? e.status : 500, (e as Error).message)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    collections,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
