import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import protobuf from 'protobufjs'
import { apiFixture } from './api-fixtures.js'

/**
 * An in-process Milvus 2.6 gRPC server for tests (Dify's compose ships milvusdb/milvus:v2.6.3), built from the
 * milvus-proto v2.6.3 files (as a protobufjs JSON descriptor: test/fixtures/api/milvus-v2.6.json; the originals are
 * the shared reference material, specs/milvus/v2.6/*.proto) with @grpc/grpc-js + @grpc/proto-loader. Only the RPCs
 * dify-ops (through @zilliz/milvus2-sdk-node) uses are implemented; any other answers UNIMPLEMENTED. Requests are
 * decoded with the spec's own messages (CollectionSchema bytes, PlaceholderGroup bytes) and checked the way the
 * server checks them: one primary key, dims and max_length, function outputs, HNSW parameters and metrics, auto-id
 * keys not supplied, vector dimensions, loaded-before-search, query window ≤ 16384, the boolean expression grammar
 * (the subset below). State is held in memory. Errors come back as common.Status as the server sends them.
 */
export const MILVUS_SPEC = 'milvus-v2.6'
const LOADER_OPTS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }

/** The milvus-proto package definition for @grpc/grpc-js (also for tests that call the fake directly). */
export function milvusPackageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.fromJSON(apiFixture(MILVUS_SPEC).protobuf!, LOADER_OPTS)
}

interface Field {
  name: string
  data_type: string
  is_primary_key?: boolean
  autoID?: boolean
  is_function_output?: boolean
  type_params: Array<{ key: string; value: string }>
  [k: string]: unknown
}
interface Collection {
  id: number
  schema: {
    name: string
    fields: Field[]
    functions: Array<{ name: string; type: string; input_field_names: string[]; output_field_names: string[] }>
    [k: string]: unknown
  }
  consistency: string
  indexes: Map<string, { index_name: string; params: Array<{ key: string; value: string }> }>
  loaded: boolean
  rows: Map<bigint, Record<string, unknown>>
}

export interface FakeMilvus {
  address: string
  version: string
  collections: Map<string, Collection>
  calls: Array<{ method: string; request: any; error?: string }>
  close(): Promise<void>
}

class MilvusError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}
const OK = { error_code: 'Success', reason: '', code: 0, retriable: false, detail: '', extra_info: {} }
const fail = (e: MilvusError) => ({
  error_code: 'UnexpectedError',
  reason: e.message,
  code: e.code,
  retriable: false,
  detail: e.message,
  extra_info: {},
})
const invalid = (m: string) => new MilvusError(1100, `invalid parameter[${m}]`)

// ---- boolean expressions (the subset of Milvus's grammar dify-ops and Dify send) ----
type Tok = { t: 'id' | 'num' | 'str' | 'op'; v: string }
function lex(s: string): Tok[] {
  const out: Tok[] = []
  const re =
    /\s*(?:(-?\d+(?:\.\d+)?)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|>=|<=|&&|\|\||[<>[\](),]))/y
  let m: RegExpExecArray | null
  let i = 0
  while (i < s.length) {
    re.lastIndex = i
    if (!(m = re.exec(s))) {
      if (/^\s*$/.test(s.slice(i))) break
      throw invalid(`cannot parse expression: ${s}`)
    }
    i = re.lastIndex
    if (m[1] !== undefined) out.push({ t: 'num', v: m[1] })
    else if (m[2] !== undefined)
      out.push({ t: 'str', v: m[2][0] === '"' ? JSON.parse(m[2]) : m[2].slice(1, -1).replace(/\\'/g, "'") })
    else if (m[3] !== undefined) out.push({ t: 'id', v: m[3] })
    else out.push({ t: 'op', v: m[4]! })
  }
  return out
}

type Row = Record<string, unknown>
type Pred = (row: Row) => boolean

function parseExpr(src: string, fields: Map<string, Field>): Pred {
  const toks = lex(src)
  let p = 0
  const peek = () => toks[p]
  const kw = (w: string) => peek()?.t === 'id' && peek()!.v.toLowerCase() === w
  const take = (v?: string) => {
    const t = toks[p++]
    if (!t || (v !== undefined && t.v !== v)) throw invalid(`cannot parse expression: ${src}`)
    return t
  }
  const value = (): unknown => {
    const t = take()
    if (t.t === 'num') return t.v.includes('.') ? Number(t.v) : BigInt(t.v)
    if (t.t === 'str') return t.v
    if (t.t === 'id' && /^(true|false)$/i.test(t.v)) return t.v.toLowerCase() === 'true'
    throw invalid(`cannot parse expression: ${src}`)
  }
  const operand = (): ((r: Row) => unknown) => {
    const name = take().v
    const f = fields.get(name)
    if (!f) throw invalid(`field ${name} not exist`)
    const path: string[] = []
    while (peek()?.v === '[') {
      take('[')
      const k = take()
      if (k.t !== 'str') throw invalid(`cannot parse expression: ${src}`)
      path.push(k.v)
      take(']')
    }
    if (path.length && f.data_type !== 'JSON') throw invalid(`${name} is not a JSON field`)
    return (r) => path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Row)[k] : undefined), r[name])
  }
  const norm = (x: unknown) => (typeof x === 'number' && Number.isInteger(x) ? BigInt(x) : x)
  const cmp = (a: unknown, b: unknown): number | null => {
    a = norm(a)
    b = norm(b)
    if (typeof a === 'bigint' && typeof b === 'number') a = Number(a)
    if (typeof b === 'bigint' && typeof a === 'number') b = Number(b)
    if (typeof a !== typeof b) return null
    return (a as any) < (b as any) ? -1 : (a as any) > (b as any) ? 1 : 0
  }
  const primary = (): Pred => {
    if (kw('not')) {
      take()
      const inner = primary()
      return (r) => !inner(r)
    }
    if (peek()?.v === '(') {
      take('(')
      const e = or()
      take(')')
      return e
    }
    const get = operand()
    let negate = false
    if (kw('not')) {
      take()
      negate = true
    }
    if (kw('in')) {
      take()
      take('[')
      const vals: unknown[] = []
      while (peek()?.v !== ']') {
        vals.push(value())
        if (peek()?.v === ',') take(',')
      }
      take(']')
      return (r) => vals.some((v) => cmp(get(r), v) === 0) !== negate
    }
    if (negate) throw invalid(`cannot parse expression: ${src}`)
    const op = take().v
    const v = value()
    const test: Record<string, (c: number) => boolean> = {
      '==': (c) => c === 0,
      '!=': (c) => c !== 0,
      '>': (c) => c > 0,
      '>=': (c) => c >= 0,
      '<': (c) => c < 0,
      '<=': (c) => c <= 0,
    }
    const f = test[op]
    if (!f) throw invalid(`cannot parse expression: ${src}`)
    return (r) => {
      const c = cmp(get(r), v)
      return c !== null && f(c)
    }
  }
  const and = (): Pred => {
    let l = primary()
    while (kw('and') || peek()?.v === '&&') {
      take()
      const a = l
      const b = primary()
      l = (r) => a(r) && b(r)
    }
    return l
  }
  const or = (): Pred => {
    let l = and()
    while (kw('or') || peek()?.v === '||') {
      take()
      const a = l
      const b = and()
      l = (r) => a(r) || b(r)
    }
    return l
  }
  if (!toks.length) return () => true
  const e = or()
  if (p !== toks.length) throw invalid(`cannot parse expression: ${src}`)
  return e
}

const kv = (pairs: Array<{ key: string; value: string }> | undefined) =>
  Object.fromEntries((pairs ?? []).map((x) => [x.key, x.value]))

export async function startFakeMilvus(
  opts: { version?: string; auth?: { username: string; password: string }; tls?: { cert: Buffer; key: Buffer } } = {},
): Promise<FakeMilvus> {
  const version = opts.version ?? 'v2.6.3'
  const pkg = grpc.loadPackageDefinition(milvusPackageDefinition()) as any
  const root = protobuf.Root.fromJSON(apiFixture(MILVUS_SPEC).protobuf!)
  const SchemaT = root.lookupType('milvus.proto.schema.CollectionSchema')
  const PlaceholderT = root.lookupType('milvus.proto.common.PlaceholderGroup')
  const toObj = { longs: String, enums: String, bytes: Buffer, defaults: true, arrays: true } as const

  const collections = new Map<string, Collection>()
  const calls: FakeMilvus['calls'] = []
  let nextId = 462000000000000000n // real auto ids are above 2^53
  let collId = 1000

  const getColl = (name: string): Collection => {
    const c = collections.get(name)
    if (!c) throw new MilvusError(100, `collection not found[database=default][collection=${name}]`)
    return c
  }
  const fieldMap = (c: Collection) => new Map(c.schema.fields.map((f) => [f.name, f]))
  const dimOf = (f: Field) => Number(kv(f.type_params).dim)

  function checkAuth(md: grpc.Metadata): void {
    const db = md.get('dbname')[0]
    if (db !== undefined && String(db) !== 'default') throw new MilvusError(800, `database not found[database=${db}]`)
    if (!opts.auth) return
    const want = Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')
    if (String(md.get('authorization')[0] ?? '') !== want)
      throw new MilvusError(1800, 'auth check failure, please check username and password are correct')
  }

  function fieldData(c: Collection, name: string, rows: Row[]): unknown {
    if (name === 'count(*)')
      return { type: 'Int64', field_name: name, scalars: { long_data: { data: [String(rows.length)] } } }
    const f = fieldMap(c).get(name)!
    switch (f.data_type) {
      case 'Int64':
        return {
          type: 'Int64',
          field_name: name,
          field_id: 0,
          scalars: { long_data: { data: rows.map((r) => String(r[name])) } },
        }
      case 'VarChar':
        return {
          type: 'VarChar',
          field_name: name,
          scalars: { string_data: { data: rows.map((r) => String(r[name])) } },
        }
      case 'JSON':
        return {
          type: 'JSON',
          field_name: name,
          scalars: { json_data: { data: rows.map((r) => Buffer.from(JSON.stringify(r[name] ?? {}))) } },
        }
      case 'FloatVector':
        return {
          type: 'FloatVector',
          field_name: name,
          vectors: { dim: String(dimOf(f)), float_vector: { data: rows.flatMap((r) => r[name] as number[]) } },
        }
      default:
        throw new MilvusError(1100, `fake milvus: output of ${f.data_type} not implemented`)
    }
  }

  function outputs(c: Collection, requested: string[]): string[] {
    const fm = fieldMap(c)
    const out = requested.includes('*')
      ? c.schema.fields.filter((f) => !f.is_function_output).map((f) => f.name)
      : requested
    for (const n of out) {
      if (n === 'count(*)') continue
      const f = fm.get(n)
      if (!f) throw invalid(`field ${n} not exist`)
      if (f.is_function_output) throw invalid(`not allowed to retrieve raw data of field ${n}`)
    }
    return out
  }

  const handlers: Record<string, (req: any, md: grpc.Metadata) => unknown> = {
    Connect: () => ({
      status: OK,
      server_info: {
        build_tags: version,
        build_time: '',
        git_commit: '',
        server_version: version,
        deploy_mode: 'STANDALONE',
        reserved: {},
      },
      identifier: '4242',
    }),
    GetVersion: () => ({ status: OK, version }),
    CheckHealth: () => ({ status: OK, isHealthy: true, reasons: [], quota_states: [] }),
    DescribeCollection: (req) => {
      const c = getColl(req.collection_name)
      return {
        status: OK,
        schema: c.schema,
        collectionID: String(c.id),
        collection_name: req.collection_name,
        consistency_level: c.consistency,
        shards_num: 1,
        db_name: 'default',
        properties: [],
        aliases: [],
        virtual_channel_names: [],
        physical_channel_names: [],
        start_positions: [],
      }
    },
    HasCollection: (req) => ({ status: OK, value: collections.has(req.collection_name) }),
    CreateCollection: (req) => {
      const name: string = req.collection_name
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,254}$/.test(name))
        throw invalid(`the first character of a collection name must be an underscore or letter: ${name}`)
      if (collections.has(name)) throw new MilvusError(65535, `collection already exists: ${name}`)
      const schema = SchemaT.toObject(SchemaT.decode(req.schema), toObj) as Collection['schema']
      const pks = schema.fields.filter((f) => f.is_primary_key)
      if (pks.length !== 1) throw invalid('there should be exactly one primary key')
      if (!['Int64', 'VarChar'].includes(pks[0]!.data_type)) throw invalid('primary key type must be Int64 or VarChar')
      if (!schema.fields.some((f) => /Vector$/.test(f.data_type))) throw invalid('schema does not contain vector field')
      for (const f of schema.fields) {
        const tp = kv(f.type_params)
        if (f.data_type === 'FloatVector' && !(Number(tp.dim) >= 2 && Number(tp.dim) <= 32768))
          throw invalid(`invalid dimension: ${tp.dim}. should be in range 2 ~ 32768`)
        if (f.data_type === 'VarChar' && !(Number(tp.max_length) >= 1 && Number(tp.max_length) <= 65535))
          throw invalid(`the maximum length specified for field(${f.name}) should be in (0, 65535]`)
        if (f.autoID && !f.is_primary_key) throw invalid('only primary field can speficy AutoID with true')
      }
      for (const fn of schema.functions ?? []) {
        if (fn.type !== 'BM25') throw invalid(`fake milvus: function type ${fn.type} not implemented`)
        const input = schema.fields.find((f) => f.name === fn.input_field_names[0])
        const output = schema.fields.find((f) => f.name === fn.output_field_names[0])
        if (input?.data_type !== 'VarChar' || kv(input.type_params).enable_analyzer !== 'true')
          throw invalid(`BM25 function input field must be a VARCHAR field with enable_analyzer=true`)
        if (output?.data_type !== 'SparseFloatVector')
          throw invalid('BM25 function output field must be a SparseFloatVector field')
        output.is_function_output = true
      }
      schema.fields.forEach((f, i) => ((f as any).fieldID = String(100 + i)))
      collections.set(name, {
        id: ++collId,
        schema,
        consistency: req.consistency_level,
        indexes: new Map(),
        loaded: false,
        rows: new Map(),
      })
      return OK
    },
    CreateIndex: (req) => {
      const c = getColl(req.collection_name)
      const f = fieldMap(c).get(req.field_name)
      if (!f) throw invalid(`cannot create index on non-exist field: ${req.field_name}`)
      const p = kv(req.extra_params)
      const params = p.params ? JSON.parse(p.params) : {}
      const metric = p.metric_type ?? ''
      if (f.data_type === 'FloatVector') {
        if (!['L2', 'IP', 'COSINE'].includes(metric))
          throw invalid(`metric type ${metric} not found or not supported, supported: [L2 IP COSINE]`)
        if (p.index_type === 'HNSW') {
          if (!(Number(params.M) >= 2 && Number(params.M) <= 2048)) throw invalid('param M out of range: [2, 2048]')
          if (!(Number(params.efConstruction) >= 1 && Number(params.efConstruction) <= 2147483647))
            throw invalid('param efConstruction out of range')
        } else if (!['AUTOINDEX', 'FLAT', 'IVF_FLAT'].includes(p.index_type ?? ''))
          throw invalid(`invalid index type: ${p.index_type}`)
      } else if (f.data_type === 'SparseFloatVector') {
        if (metric === 'BM25' && !f.is_function_output)
          throw invalid('BM25 metric only supports the output field of a BM25 function')
        if (!['BM25', 'IP'].includes(metric)) throw invalid(`metric type ${metric} not supported for sparse vectors`)
      } else throw invalid(`fake milvus: scalar index on ${f.data_type} not implemented`)
      const indexName = req.index_name || f.name
      if (c.indexes.has(f.name)) throw new MilvusError(65535, `at most one distinct index is allowed per field`)
      c.indexes.set(f.name, { index_name: indexName, params: req.extra_params })
      return OK
    },
    DescribeIndex: (req) => {
      const c = getColl(req.collection_name)
      if (!c.indexes.size) throw new MilvusError(700, `index not found[collection=${req.collection_name}]`)
      return {
        status: OK,
        index_descriptions: [...c.indexes.entries()].map(([field, ix], i) => ({
          index_name: ix.index_name,
          indexID: String(5000 + i),
          params: ix.params,
          field_name: field,
          indexed_rows: String(c.rows.size),
          total_rows: String(c.rows.size),
          state: 'Finished',
          pending_index_rows: '0',
        })),
      }
    },
    LoadCollection: (req) => {
      const c = getColl(req.collection_name)
      for (const f of c.schema.fields)
        if (/Vector$/.test(f.data_type) && !c.indexes.has(f.name))
          throw new MilvusError(700, `there is no vector index on field: [${f.name}], please create index firstly`)
      c.loaded = true
      return OK
    },
    GetLoadState: (req) => ({
      status: OK,
      state: getColl(req.collection_name).loaded ? 'LoadStateLoaded' : 'LoadStateNotLoad',
    }),
    GetLoadingProgress: (req) => ({
      status: OK,
      progress: getColl(req.collection_name).loaded ? '100' : '0',
      refresh_progress: '100',
    }),
    DropCollection: (req) => {
      getColl(req.collection_name)
      collections.delete(req.collection_name)
      return OK
    },
    Flush: () => ({
      status: OK,
      db_name: 'default',
      coll_segIDs: {},
      flush_coll_segIDs: {},
      coll_seal_times: {},
      coll_flush_ts: {},
      channel_cps: {},
    }),
    Insert: (req) => {
      const c = getColl(req.collection_name)
      const fm = fieldMap(c)
      const n = Number(req.num_rows)
      const byName = new Map<string, any>(req.fields_data.map((fd: any) => [fd.field_name, fd]))
      for (const f of c.schema.fields) {
        const given = byName.has(f.name)
        if (f.is_primary_key && f.autoID && given)
          throw invalid(`the primary key (${f.name}) is auto-generated, no need to provide`)
        if (f.is_function_output && given) throw invalid(`attempt to insert into function output field: ${f.name}`)
        if (!given && !(f.is_primary_key && f.autoID) && !f.is_function_output && !f.nullable)
          throw invalid(`field ${f.name} not passed`)
      }
      for (const k of byName.keys()) if (!fm.has(k)) throw invalid(`field ${k} does not exist in collection`)
      const cols = new Map<string, unknown[]>()
      for (const [name, fd] of byName) {
        const f = fm.get(name)!
        let vals: unknown[]
        if (f.data_type === 'FloatVector') {
          const dim = dimOf(f)
          const flat: number[] = fd.vectors?.float_vector?.data ?? []
          if (Number(fd.vectors?.dim) !== dim || flat.length !== dim * n)
            throw invalid(`the dim (${fd.vectors?.dim}) of field data(${name}) is not equal to schema dim (${dim})`)
          vals = Array.from({ length: n }, (_, i) => flat.slice(i * dim, (i + 1) * dim).map(Math.fround))
        } else if (f.data_type === 'VarChar') {
          vals = fd.scalars?.string_data?.data ?? []
          const max = Number(kv(f.type_params).max_length)
          for (const s of vals as string[])
            if (Buffer.byteLength(s) > max) throw invalid(`length of varchar field ${name} exceeds max length`)
        } else if (f.data_type === 'JSON') {
          vals = (fd.scalars?.json_data?.data ?? []).map((b: Buffer) => JSON.parse(Buffer.from(b).toString('utf8')))
          for (const v of vals)
            if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid(`invalid JSON object in field ${name}`)
        } else throw invalid(`fake milvus: insert of ${f.data_type} not implemented`)
        if (vals.length !== n) throw invalid(`the num_rows (${n}) of field (${name}) is not equal to passed num_rows`)
        cols.set(name, vals)
      }
      const pk = c.schema.fields.find((f) => f.is_primary_key)!
      const ids: string[] = []
      for (let i = 0; i < n; i++) {
        const id = nextId++
        const row: Row = { [pk.name]: id }
        for (const [name, vals] of cols) row[name] = vals[i]
        c.rows.set(id, row)
        ids.push(String(id))
      }
      return {
        status: OK,
        IDs: { int_id: { data: ids } },
        succ_index: ids.map((_, i) => i),
        err_index: [],
        insert_cnt: String(n),
        delete_cnt: '0',
        upsert_cnt: '0',
        timestamp: '1',
      }
    },
    Delete: (req) => {
      const c = getColl(req.collection_name)
      if (!req.expr) throw invalid("delete plan can't be empty or always true")
      const pred = parseExpr(req.expr, fieldMap(c))
      let n = 0
      for (const [id, row] of c.rows)
        if (pred(row)) {
          c.rows.delete(id)
          n++
        }
      return {
        status: OK,
        IDs: { int_id: { data: [] } },
        succ_index: [],
        err_index: [],
        delete_cnt: String(n),
        insert_cnt: '0',
        upsert_cnt: '0',
        timestamp: '1',
      }
    },
    Query: (req) => {
      const c = getColl(req.collection_name)
      if (!c.loaded) throw new MilvusError(101, `collection not loaded[collection=${c.id}]`)
      const qp = kv(req.query_params)
      const limit = qp.limit === undefined ? undefined : Number(qp.limit)
      const offset = Number(qp.offset ?? 0)
      const out = outputs(c, req.output_fields?.length ? req.output_fields : ['*'])
      const isCount = out.length === 1 && out[0] === 'count(*)'
      if (!isCount && !req.expr && limit === undefined) throw invalid('empty expression should be used with limit')
      if (limit !== undefined && limit + offset > 16384)
        throw invalid(
          `invalid max query result window, (offset+limit) should be in range [1, 16384], but got ${limit + offset}`,
        )
      const pred = parseExpr(req.expr ?? '', fieldMap(c))
      const pk = c.schema.fields.find((f) => f.is_primary_key)!.name
      let rows = [...c.rows.values()].filter(pred).sort((a, b) => ((a[pk] as bigint) < (b[pk] as bigint) ? -1 : 1))
      if (isCount)
        return {
          status: OK,
          fields_data: [fieldData(c, 'count(*)', rows)],
          collection_name: req.collection_name,
          output_fields: ['count(*)'],
          primary_field_name: pk,
        }
      if (limit !== undefined) rows = rows.slice(offset, offset + limit)
      const fieldsOut = out.includes(pk) ? out : [...out, pk]
      return {
        status: OK,
        fields_data: fieldsOut.map((n) => fieldData(c, n, rows)),
        collection_name: req.collection_name,
        output_fields: fieldsOut,
        primary_field_name: pk,
      }
    },
    Search: (req) => {
      const c = getColl(req.collection_name)
      if (!c.loaded) throw new MilvusError(101, `collection not loaded[collection=${c.id}]`)
      const sp = kv(req.search_params)
      const fm = fieldMap(c)
      const anns = sp.anns_field || c.schema.fields.find((f) => f.data_type === 'FloatVector')!.name
      const f = fm.get(anns)
      if (!f || f.data_type !== 'FloatVector') throw invalid(`fake milvus: search on ${anns} not implemented`)
      const ix = c.indexes.get(anns)!
      const metric = kv(ix.params).metric_type ?? ''
      if (sp.metric_type && sp.metric_type !== metric)
        throw invalid(`metric type not match: invalid parameter[expected=${metric}][actual=${sp.metric_type}]`)
      const topk = Number(sp.topk ?? sp.limit)
      if (!(topk >= 1 && topk <= 16384)) throw invalid(`topk [${topk}] is invalid, it should be in range [1, 16384]`)
      const group = PlaceholderT.toObject(PlaceholderT.decode(req.placeholder_group), toObj) as any
      const ph = group.placeholders[0]
      if (ph.type !== 'FloatVector') throw invalid(`fake milvus: placeholder type ${ph.type} not implemented`)
      const dim = dimOf(f)
      const qs: number[][] = ph.values.map((b: Buffer) => {
        if (b.length !== dim * 4)
          throw invalid(`the dimension of the vector (${b.length / 4}) does not match the field (${dim})`)
        return Array.from({ length: dim }, (_, i) => b.readFloatLE(i * 4))
      })
      const pred = parseExpr(req.dsl ?? '', fm)
      const out = outputs(c, req.output_fields ?? [])
      const pk = c.schema.fields.find((x) => x.is_primary_key)!.name
      const allIds: string[] = []
      const scores: number[] = []
      const topks: string[] = []
      const hitRows: Row[] = []
      for (const q of qs) {
        const scored = [...c.rows.values()]
          .filter(pred)
          .map((r) => {
            const v = r[anns] as number[]
            let s = 0
            if (metric === 'IP') for (let i = 0; i < dim; i++) s += q[i]! * v[i]!
            else if (metric === 'L2') for (let i = 0; i < dim; i++) s += (q[i]! - v[i]!) ** 2
            else {
              let na = 0
              let nb = 0
              for (let i = 0; i < dim; i++) {
                s += q[i]! * v[i]!
                na += q[i]! ** 2
                nb += v[i]! ** 2
              }
              s /= Math.sqrt(na * nb)
            }
            return { r, s: Math.fround(s) }
          })
          .sort((a, b) => (metric === 'L2' ? a.s - b.s : b.s - a.s))
          .slice(0, topk)
        topks.push(String(scored.length))
        for (const h of scored) {
          allIds.push(String(h.r[pk]))
          scores.push(h.s)
          hitRows.push(h.r)
        }
      }
      return {
        status: OK,
        collection_name: req.collection_name,
        results: {
          num_queries: String(qs.length),
          top_k: String(topk),
          scores,
          topks,
          output_fields: out,
          ids: { int_id: { data: allIds } },
          fields_data: out.map((n) => fieldData(c, n, hitRows)),
          primary_field_name: pk,
        },
      }
    },
  }

  const service = pkg.milvus.proto.milvus.MilvusService.service as grpc.ServiceDefinition
  const impl: grpc.UntypedServiceImplementation = {}
  for (const [method, d] of Object.entries(service)) {
    impl[method] = (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
      const h = handlers[method]
      if (!h) {
        calls.push({ method, request: call.request, error: 'UNIMPLEMENTED' })
        return cb({
          code: grpc.status.UNIMPLEMENTED,
          details: `fake milvus: ${method} is not implemented`,
        } as grpc.ServiceError)
      }
      try {
        if (method !== 'Connect') checkAuth(call.metadata)
        const res = h(call.request, call.metadata)
        calls.push({ method, request: call.request })
        cb(null, res)
      } catch (e) {
        if (!(e instanceof MilvusError))
          return cb({ code: grpc.status.INTERNAL, details: String((e as Error).stack ?? e) } as grpc.ServiceError)
        calls.push({ method, request: call.request, error: e.message })
        const status = fail(e)
        // a response type that is a bare Status, or one that carries `status`
        const respType = (d as any).responseType?.type?.name ?? ''
        cb(null, respType === 'Status' ? status : { status })
      }
    }
  }
  const server = new grpc.Server()
  server.addService(service, impl)
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync(
      '127.0.0.1:0',
      opts.tls
        ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: opts.tls.cert, private_key: opts.tls.key }], false)
        : grpc.ServerCredentials.createInsecure(),
      (e, p) => (e ? rej(e) : res(p)),
    ),
  )
  server.start()
  return {
    address: `127.0.0.1:${port}`,
    version,
    collections,
    calls,
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())),
  }
}
