import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Kind, parse, valueFromASTUntyped, type FieldNode, type SelectionSetNode } from 'graphql'
import { OpenApi, type OpenApiOperation } from './openapi.js'
import { apiFixture } from './api-fixtures.js'

/**
 * An in-process Weaviate 1.27.0 REST + GraphQL server for tests (the server Dify's compose ships). Every REST
 * request is matched against Weaviate's openapi-schema-v1.27.0.json (reduced: test/fixtures/api/weaviate-1.27.0.json;
 * the original is the shared reference material, specs/weaviate/openapi-schema-v1.27.0.json) (unknown endpoint → 404, body
 * the schema rejects → 422) and the server's own rules the spec cannot express are enforced: the objects cursor
 * (`after` needs `class`, excludes offset/where/sort), `include` values, named vectors vs the legacy vector, vector
 * dimensions, auto-schema types. GraphQL (`Get` with nearVector/where/limit, `Aggregate` meta count) is parsed with
 * graphql-js and checked against the class schema the way the server builds it (e.g. `_additional { vectors }`
 * only exists on classes with vectorConfig). Only what dify-ops uses is implemented; the rest answers 501.
 * There is no gRPC here: the adapter is REST-only (docs/vector-stores.md explains why).
 */
export const WEAVIATE_SPEC = 'weaviate-1.27.0'

interface WProperty {
  name: string
  dataType: string[]
  tokenization?: string
  indexFilterable?: boolean
  indexSearchable?: boolean
}
interface WClass {
  class: string
  properties: WProperty[]
  vectorConfig?: Record<
    string,
    { vectorizer: Record<string, unknown>; vectorIndexType: string; vectorIndexConfig: Record<string, unknown> }
  >
  vectorIndexConfig?: Record<string, unknown>
  vectorIndexType?: string
  vectorizer?: string
  [k: string]: unknown
}
interface WObject {
  id: string
  properties: Record<string, unknown>
  vector?: number[]
  vectors?: Record<string, number[]>
  creationTimeUnix: number
}
interface WState {
  schema: WClass
  objects: Map<string, WObject>
  dims: Map<string, number>
}

export interface FakeWeaviate {
  url: string
  classes: Map<string, WState>
  requests: Array<{ method: string; path: string; body: unknown; status: number }>
  /** create a class as Dify ≤ 1.9.1 (weaviate-client v3) did: legacy unnamed vector, no vectorConfig */
  addLegacyClass(
    name: string,
    objects: Array<{ id: string; properties: Record<string, unknown>; vector: number[] }>,
  ): void
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
const err = (message: string) => ({ error: [{ message }] })

const HNSW_DEFAULTS = {
  skip: false,
  cleanupIntervalSeconds: 300,
  maxConnections: 32,
  efConstruction: 128,
  ef: -1,
  dynamicEfMin: 100,
  dynamicEfMax: 500,
  dynamicEfFactor: 8,
  vectorCacheMaxObjects: 1000000000000,
  flatSearchCutoff: 40000,
  distance: 'cosine',
  pq: { enabled: false },
  bq: { enabled: false },
  sq: { enabled: false },
  filterStrategy: 'sweeping',
}

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1)
}

function propValue(o: WObject, path: string[]): unknown {
  if (path.length !== 1) throw new HttpError(501, 'fake weaviate: nested where paths are not implemented')
  if (path[0] === 'id') return o.id
  return o.properties[path[0]!]
}

function where(o: WObject, w: Record<string, unknown> | undefined): boolean {
  if (!w) return true
  const op = w.operator as string
  const operands = (w.operands as Array<Record<string, unknown>> | undefined) ?? []
  if (op === 'And') return operands.every((x) => where(o, x))
  if (op === 'Or') return operands.some((x) => where(o, x))
  const v = propValue(o, w.path as string[])
  const value = w.valueText ?? w.valueString ?? w.valueInt ?? w.valueNumber ?? w.valueBoolean
  const list = (w.valueTextArray ?? w.valueStringArray ?? w.valueIntArray) as unknown[] | undefined
  const vs = Array.isArray(v) ? v : [v]
  if (op === 'Equal') return vs.some((x) => x === value)
  if (op === 'NotEqual') return vs.every((x) => x !== value)
  if (op === 'ContainsAny') return !!list && vs.some((x) => list.includes(x))
  if (op === 'IsNull') return (v === undefined || v === null) === Boolean(w.valueBoolean)
  throw new HttpError(501, `fake weaviate: where operator ${op} is not implemented`)
}

function cosineDistance(a: number[], b: number[]): number {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return Math.fround(1 - dot / (Math.sqrt(na) * Math.sqrt(nb)))
}

function autoType(v: unknown): string[] {
  if (typeof v === 'string') return ['text']
  if (typeof v === 'number') return ['number']
  if (typeof v === 'boolean') return ['boolean']
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return ['text[]']
  throw new HttpError(501, `fake weaviate: auto-schema for ${JSON.stringify(v)} is not implemented`)
}

function checkType(p: WProperty, v: unknown): boolean {
  const t = p.dataType[0]
  if (v === null) return true
  if (t === 'text' || t === 'string') return typeof v === 'string'
  if (t === 'int') return Number.isInteger(v)
  if (t === 'number') return typeof v === 'number'
  if (t === 'boolean') return typeof v === 'boolean'
  if (t === 'text[]') return Array.isArray(v)
  return true
}

export async function startFakeWeaviate(opts: { version?: string; apiKey?: string } = {}): Promise<FakeWeaviate> {
  const spec = new OpenApi(apiFixture(WEAVIATE_SPEC).document!)
  const version = opts.version ?? '1.27.0'
  const classes = new Map<string, WState>()
  const requests: FakeWeaviate['requests'] = []

  const need = (name: string) => {
    const c = classes.get(capitalize(name))
    if (!c) throw new HttpError(404, '')
    return c
  }

  const storeObject = (st: WState, raw: Record<string, unknown>): WObject => {
    const props = { ...(raw.properties as Record<string, unknown>) }
    for (const [k, v] of Object.entries(props)) {
      let p = st.schema.properties.find((x) => x.name === k)
      if (!p) {
        // auto-schema (on by default in 1.27)
        p = {
          name: k,
          dataType: autoType(v),
          indexFilterable: true,
          indexSearchable: true,
          ...(autoType(v)[0] === 'text' ? { tokenization: 'word' } : {}),
        }
        st.schema.properties.push(p)
      }
      if (!checkType(p, v))
        throw new HttpError(422, `invalid ${p.dataType[0]} property '${k}' on class '${st.schema.class}'`)
    }
    const o: WObject = { id: String(raw.id).toLowerCase(), properties: props, creationTimeUnix: Date.now() }
    const named = !!st.schema.vectorConfig
    if (named) {
      if (raw.vector && (raw.vector as number[]).length)
        throw new HttpError(422, `collection ${st.schema.class} is configured with named vectors, use "vectors"`)
      const vs = (raw.vectors ?? {}) as Record<string, number[]>
      for (const [name, v] of Object.entries(vs)) {
        if (!st.schema.vectorConfig![name])
          throw new HttpError(422, `collection ${st.schema.class} does not have configuration for vector ${name}`)
        if (!Array.isArray(v)) throw new HttpError(501, 'fake weaviate: multi-vectors are not implemented')
        const d = st.dims.get(name)
        if (d !== undefined && d !== v.length) {
          throw new HttpError(
            422,
            `new node has a vector with length ${v.length}. Existing nodes have vectors with length ${d}`,
          )
        }
        st.dims.set(name, v.length)
      }
      o.vectors = Object.fromEntries(Object.entries(vs).map(([k, v]) => [k, v.map(Math.fround)]))
    } else {
      if (raw.vectors && Object.keys(raw.vectors as object).length)
        throw new HttpError(422, `collection ${st.schema.class} does not have named vectors configured`)
      const v = raw.vector as number[] | undefined
      if (v) {
        const d = st.dims.get('')
        if (d !== undefined && d !== v.length)
          throw new HttpError(
            422,
            `new node has a vector with length ${v.length}. Existing nodes have vectors with length ${d}`,
          )
        st.dims.set('', v.length)
        o.vector = v.map(Math.fround)
      }
    }
    return o
  }

  const restObject = (st: WState, o: WObject, includeVector: boolean) => ({
    class: st.schema.class,
    id: o.id,
    properties: o.properties,
    creationTimeUnix: o.creationTimeUnix,
    lastUpdateTimeUnix: o.creationTimeUnix,
    ...(includeVector && o.vector ? { vector: o.vector } : {}),
    ...(includeVector && o.vectors ? { vectors: o.vectors } : {}),
  })

  const handlers: Record<string, (op: OpenApiOperation, body: any, q: URLSearchParams) => unknown> = {
    'GET /meta': () => ({ hostname: 'http://[::]:8080', version, modules: {} }),
    'GET /schema': () => ({ classes: [...classes.values()].map((c) => c.schema) }),
    'GET /schema/{className}': (op) => need(op.params.className!).schema,
    'POST /schema': (_op, body: WClass) => {
      const name = capitalize(body.class)
      if (classes.has(name)) throw new HttpError(422, `class name "${name}" already exists`)
      const vectorConfig = body.vectorConfig
        ? Object.fromEntries(
            Object.entries(body.vectorConfig).map(([k, v]) => {
              if (v.vectorIndexType && v.vectorIndexType !== 'hnsw')
                throw new HttpError(501, 'fake weaviate: only hnsw is implemented')
              return [
                k,
                {
                  vectorizer: v.vectorizer ?? { none: {} },
                  vectorIndexType: 'hnsw',
                  vectorIndexConfig: { ...HNSW_DEFAULTS, ...v.vectorIndexConfig },
                },
              ]
            }),
          )
        : undefined
      const schema: WClass = {
        class: name,
        properties: (body.properties ?? []).map((p) => ({
          ...p,
          indexFilterable: p.indexFilterable ?? true,
          indexSearchable: p.indexSearchable ?? ['text', 'text[]'].includes(p.dataType[0]!),
          ...(['text', 'text[]'].includes(p.dataType[0]!) ? { tokenization: p.tokenization ?? 'word' } : {}),
        })),
        ...(vectorConfig
          ? { vectorConfig }
          : {
              vectorizer: 'none',
              vectorIndexType: 'hnsw',
              vectorIndexConfig: { ...HNSW_DEFAULTS, ...body.vectorIndexConfig },
            }),
        invertedIndexConfig: {
          cleanupIntervalSeconds: 60,
          bm25: { k1: 1.2, b: 0.75 },
          stopwords: { preset: 'en', additions: [], removals: [] },
        },
        multiTenancyConfig: { enabled: false, autoTenantCreation: false, autoTenantActivation: false },
        replicationConfig: { factor: 1, asyncEnabled: false },
        shardingConfig: {
          virtualPerPhysical: 128,
          desiredCount: 1,
          actualCount: 1,
          desiredVirtualCount: 128,
          actualVirtualCount: 128,
          key: '_id',
          strategy: 'hash',
          function: 'murmur3',
        },
      }
      classes.set(name, { schema, objects: new Map(), dims: new Map() })
      return schema
    },
    'DELETE /schema/{className}': (op) => {
      classes.delete(capitalize(op.params.className!))
      return undefined
    },
    'POST /schema/{className}/properties': (op, body: WProperty) => {
      const st = need(op.params.className!)
      if (st.schema.properties.some((p) => p.name === body.name))
        throw new HttpError(422, `property "${body.name}" already exists`)
      const p = {
        ...body,
        ...(['text', 'text[]'].includes(body.dataType[0]!) ? { tokenization: body.tokenization ?? 'word' } : {}),
      }
      st.schema.properties.push(p)
      return p
    },
    'GET /objects': (_op, _b, q) => {
      const cls = q.get('class')
      const after = q.get('after')
      if (after !== null) {
        if (!cls) throw new HttpError(422, 'the "after" parameter requires a class')
        for (const bad of ['offset', 'sort', 'where'])
          if (q.has(bad))
            throw new HttpError(422, `cursor api: invalid "${bad}" parameter, cannot be combined with "after"`)
      }
      const include = q.get('include')
      for (const inc of include ? include.split(',') : []) {
        if (!['classification', 'vector', 'interpretation', 'featureProjection'].includes(inc.trim()))
          throw new HttpError(422, `unrecognized property '${inc}' in ?include list`)
      }
      if (!cls) throw new HttpError(501, 'fake weaviate: listing without class is not implemented')
      const st = need(cls)
      const limit = Number(q.get('limit') ?? 25)
      const offset = Number(q.get('offset') ?? 0)
      let all = [...st.objects.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      if (after !== null) all = all.filter((o) => o.id > after.toLowerCase())
      const page = all.slice(after !== null ? 0 : offset, (after !== null ? 0 : offset) + limit)
      const withVector = (include ?? '').split(',').includes('vector')
      return { objects: page.map((o) => restObject(st, o, withVector)), totalResults: page.length }
    },
    'POST /batch/objects': (_op, body) => {
      return (body.objects as Array<Record<string, unknown>>).map((raw) => {
        try {
          const st = need(String(raw.class))
          if (!raw.id) throw new HttpError(501, 'fake weaviate: objects without id are not implemented')
          const o = storeObject(st, raw)
          st.objects.set(o.id, o)
          return { ...restObject(st, o, false), result: { status: 'SUCCESS' } }
        } catch (e) {
          if (e instanceof HttpError && e.status === 501) throw e
          const message =
            e instanceof HttpError && e.status === 404
              ? `class "${String(raw.class)}" not found in schema`
              : (e as Error).message
          return {
            class: raw.class,
            id: raw.id,
            properties: raw.properties,
            result: { status: 'FAILED', errors: err(message) },
          }
        }
      })
    },
    'DELETE /batch/objects': (_op, body) => {
      const st = need(body.match.class)
      if (!body.match.where) throw new HttpError(422, 'validate: invalid where: where is required')
      const hit = [...st.objects.values()].filter((o) => where(o, body.match.where))
      if (!body.dryRun) for (const o of hit) st.objects.delete(o.id)
      return {
        match: body.match,
        output: body.output ?? 'minimal',
        dryRun: !!body.dryRun,
        results: { matches: hit.length, limit: 10000, successful: hit.length, failed: 0 },
      }
    },
    'POST /graphql': (_op, body) => graphql(body.query as string),
  }

  // ------------------------------------------------------------- GraphQL
  function graphql(query: string): unknown {
    let doc
    try {
      doc = parse(query)
    } catch (e) {
      return { errors: [{ message: (e as Error).message }] }
    }
    const opDef = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)
    if (!opDef || opDef.kind !== Kind.OPERATION_DEFINITION) return { errors: [{ message: 'no operation' }] }
    const data: Record<string, unknown> = {}
    try {
      for (const sel of opDef.selectionSet.selections) {
        if (sel.kind !== Kind.FIELD) throw new Error('fragments are not implemented by the fake')
        if (sel.name.value === 'Get') data.Get = gqlGet(sel.selectionSet!)
        else if (sel.name.value === 'Aggregate') data.Aggregate = gqlAggregate(sel.selectionSet!)
        else throw new Error(`Cannot query field "${sel.name.value}" on type "WeaviateObj".`)
      }
    } catch (e) {
      return { errors: [{ message: (e as Error).message }] }
    }
    return { data }
  }

  const classField = (f: FieldNode, type: string) => {
    const st = classes.get(f.name.value)
    if (!st) throw new Error(`Cannot query field "${f.name.value}" on type "${type}".`)
    return st
  }
  const args = (f: FieldNode) =>
    Object.fromEntries((f.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)])) as Record<
      string,
      any
    >

  function gqlGet(sel: SelectionSetNode): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const f of sel.selections as FieldNode[]) {
      const st = classField(f, 'GetObjectsObj')
      const a = args(f)
      for (const k of Object.keys(a)) {
        if (!['nearVector', 'limit', 'where', 'offset', 'after'].includes(k))
          throw new Error(`fake weaviate: Get argument ${k} is not implemented`)
      }
      if (a.after !== undefined && a.nearVector)
        throw new Error(
          "explorer: list objects: invalid search params, cursor api: invalid 'after' parameter: other params cannot be set along with after: nearVector",
        )
      let objs = [...st.objects.values()].filter((o) => where(o, a.where))
      let dist = new Map<string, number>()
      if (a.nearVector) {
        const nv = a.nearVector as { vector: number[]; targetVectors?: string[] }
        const named = !!st.schema.vectorConfig
        const targets = nv.targetVectors ?? []
        if (!named && targets.length)
          throw new Error(`multiple vectors: class ${st.schema.class} does not have named vectors configured`)
        if (named && targets.length !== 1)
          throw new Error('multiple vectors: vector search target vectors are required when a class has named vectors')
        const pick = (o: WObject) => (named ? o.vectors?.[targets[0]!] : o.vector)
        const d = named ? st.dims.get(targets[0]!) : st.dims.get('')
        if (d !== undefined && d !== nv.vector.length)
          throw new Error(
            `vector search: knn search: distance between entrypoint and query node: vector lengths don't match: ${d} vs ${nv.vector.length}`,
          )
        objs = objs.filter((o) => pick(o))
        dist = new Map(objs.map((o) => [o.id, cosineDistance(nv.vector, pick(o)!)]))
        objs.sort((x, y) => dist.get(x.id)! - dist.get(y.id)!)
      } else {
        objs.sort((x, y) => (x.id < y.id ? -1 : 1))
      }
      objs = objs.slice(a.offset ?? 0, (a.offset ?? 0) + (a.limit ?? 25))
      out[f.name.value] = objs.map((o) => {
        const row: Record<string, unknown> = {}
        for (const s of f.selectionSet!.selections as FieldNode[]) {
          if (s.name.value === '_additional') {
            const add: Record<string, unknown> = {}
            for (const x of s.selectionSet!.selections as FieldNode[]) {
              if (x.name.value === 'id') add.id = o.id
              else if (x.name.value === 'distance') add.distance = a.nearVector ? dist.get(o.id) : null
              else if (x.name.value === 'vector') add.vector = o.vector ?? null
              else if (x.name.value === 'vectors') {
                if (!st.schema.vectorConfig)
                  throw new Error(`Cannot query field "vectors" on type "${st.schema.class}AdditionalFields".`)
                add.vectors = Object.fromEntries(
                  (x.selectionSet!.selections as FieldNode[]).map((v) => [
                    v.name.value,
                    o.vectors?.[v.name.value] ?? null,
                  ]),
                )
              } else
                throw new Error(`Cannot query field "${x.name.value}" on type "${st.schema.class}AdditionalFields".`)
            }
            row._additional = add
          } else {
            if (!st.schema.properties.some((p) => p.name === s.name.value)) {
              throw new Error(`Cannot query field "${s.name.value}" on type "${st.schema.class}".`)
            }
            row[s.name.value] = o.properties[s.name.value] ?? null
          }
        }
        return row
      })
    }
    return out
  }

  function gqlAggregate(sel: SelectionSetNode): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const f of sel.selections as FieldNode[]) {
      const st = classField(f, 'AggregateObjectsObj')
      const a = args(f)
      const objs = [...st.objects.values()].filter((o) => where(o, a.where))
      const row: Record<string, unknown> = {}
      for (const s of f.selectionSet!.selections as FieldNode[]) {
        if (s.name.value !== 'meta')
          throw new Error(`fake weaviate: Aggregate field ${s.name.value} is not implemented`)
        row.meta = { count: objs.length }
      }
      out[f.name.value] = [row]
    }
    return out
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake')
      let body: unknown
      const send = (status: number, payload: unknown) => {
        requests.push({ method: req.method ?? '', path: url.pathname + url.search, body, status })
        res.writeHead(status, payload === undefined ? {} : { 'content-type': 'application/json' })
        res.end(payload === undefined ? undefined : JSON.stringify(payload))
      }
      try {
        if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`)
          throw new HttpError(401, 'anonymous access not enabled, please provide an auth scheme such as OIDC')
        const op = spec.match(req.method ?? 'GET', url.pathname)
        if (!op) throw new HttpError(404, `no handler for ${req.method} ${url.pathname}`)
        const text = Buffer.concat(chunks).toString('utf8')
        if (text) {
          try {
            body = JSON.parse(text)
          } catch {
            throw new HttpError(400, 'parsing body body from "" failed, because invalid character')
          }
        }
        const qErr = spec.checkQuery(op, url.searchParams)
        if (qErr) throw new HttpError(422, qErr)
        const bErr = spec.checkRequestBody(op, body)
        if (bErr) throw new HttpError(422, `validation failure list: ${bErr}`)
        const h = handlers[`${op.method} ${op.template}`]
        if (!h) throw new HttpError(501, `fake weaviate: ${op.method} ${op.template} is not implemented`)
        const result = h(op, body, url.searchParams)
        if (result === undefined) return send(op.method === 'DELETE' ? 200 : 204, undefined)
        const rErr = spec.checkResponse(op, 200, result)
        if (rErr) throw new HttpError(500, `fake weaviate produced a response its spec rejects: ${rErr}`)
        send(200, result)
      } catch (e) {
        const status = e instanceof HttpError ? e.status : 500
        send(status, status === 404 && !(e as Error).message ? undefined : err((e as Error).message))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    classes,
    requests,
    addLegacyClass(name, objects) {
      const cname = capitalize(name)
      const st: WState = {
        schema: {
          class: cname,
          properties: [
            { name: 'text', dataType: ['text'], tokenization: 'word', indexFilterable: true, indexSearchable: true },
          ],
          vectorizer: 'none',
          vectorIndexType: 'hnsw',
          vectorIndexConfig: { ...HNSW_DEFAULTS },
        },
        objects: new Map(),
        dims: new Map(),
      }
      classes.set(cname, st)
      for (const o of objects) {
        const w = storeObject(st, { ...o })
        st.objects.set(w.id, w)
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
