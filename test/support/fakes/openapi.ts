import { Ajv, type ValidateFunction } from 'ajv'

/**
 * Request/response validation against a vendor's OpenAPI 3.0 / Swagger 2.0 document, reduced to what is validated
 * (test/fixtures/api, written by scripts/gen-api-fixtures.mjs from the vendor's published file), for the in-process fakes. OpenAPI 3.0's `nullable` is rewritten into JSON Schema (`type: [T, "null"]`) before Ajv sees it.
 */
export interface OpenApiOperation {
  method: string
  template: string
  /** path parameters */
  params: Record<string, string>
  op: {
    operationId?: string
    parameters?: Array<{ name: string; in: string; required?: boolean; schema?: unknown }>
    requestBody?: unknown
    responses?: Record<string, unknown>
  }
}

type Json = Record<string, unknown>

function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema)
  if (!node || typeof node !== 'object') return node
  const o: Json = {}
  for (const [k, v] of Object.entries(node as Json)) o[k] = toJsonSchema(v)
  if (o.nullable === true) {
    delete o.nullable
    if (typeof o.type === 'string') {
      o.type = [o.type, 'null']
      if (Array.isArray(o.enum)) o.enum = [...o.enum, null]
    } else if (o.$ref || o.anyOf || o.oneOf || o.allOf) {
      const inner = { ...o }
      for (const k of Object.keys(o)) delete o[k]
      o.anyOf = [inner, { type: 'null' }]
    } else if (o.type === undefined) {
      o.type = 'null'
    }
  }
  return o
}

export class OpenApi {
  readonly doc: Json & { paths: Record<string, Record<string, OpenApiOperation['op']>> }
  private readonly ajv: Ajv
  private readonly cache = new Map<string, ValidateFunction>()
  private readonly routes: Array<{ re: RegExp; names: string[]; template: string }>

  /** basePath of a Swagger 2.0 document (e.g. /v1), stripped before matching */
  readonly basePath: string

  constructor(document: Record<string, unknown>) {
    this.doc = toJsonSchema(document) as OpenApi['doc']
    this.ajv = new Ajv({ strict: false, allErrors: false, validateFormats: true })
    const uuid = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/
    this.ajv.addFormat('uuid', uuid)
    // every other format the document uses is descriptive only (number widths, date-time, …)
    const formats = new Set<string>()
    JSON.stringify(this.doc, (k, v) => (k === 'format' && typeof v === 'string' && formats.add(v), v))
    for (const f of formats) if (f !== 'uuid') this.ajv.addFormat(f, true)
    this.basePath = typeof this.doc.basePath === 'string' ? (this.doc.basePath as string).replace(/\/$/, '') : ''
    this.ajv.addSchema({ ...this.doc, $id: 'spec' })
    // longest literal templates first, so /points/scroll wins over /points/{id}
    this.routes = Object.keys(this.doc.paths)
      .map((template) => {
        const names: string[] = []
        const re = new RegExp(
          `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_m, n: string) => (names.push(n), '([^/]+)'))}$`,
        )
        return { re, names, template }
      })
      .sort((a, b) => a.names.length - b.names.length || b.template.length - a.template.length)
  }

  /** the spec operation for a request, or null when the server has no such endpoint */
  match(method: string, fullPath: string): OpenApiOperation | null {
    if (this.basePath && !fullPath.startsWith(this.basePath)) return null
    const path = fullPath.slice(this.basePath.length) || '/'
    for (const r of this.routes) {
      const m = r.re.exec(path)
      if (!m) continue
      const op = this.doc.paths[r.template]![method.toLowerCase()]
      if (!op) continue
      const params: Record<string, string> = {}
      r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)))
      return { method: method.toUpperCase(), template: r.template, params, op }
    }
    return null
  }

  private validator(pointer: string): ValidateFunction {
    let v = this.cache.get(pointer)
    if (!v) {
      v = this.ajv.getSchema(`spec#${pointer}`)
      if (!v) throw new Error(`no schema at ${pointer}`)
      this.cache.set(pointer, v)
    }
    return v
  }

  private check(pointer: string, value: unknown): string | null {
    const v = this.validator(pointer)
    return v(value) ? null : this.ajv.errorsText(v.errors, { dataVar: 'body' })
  }

  private pointerOf(op: OpenApiOperation, ...rest: string[]): string {
    const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1')
    return ['', 'paths', esc(op.template), op.method.toLowerCase(), ...rest.map(esc)].join('/')
  }

  private resolveParam(p: { $ref?: string } & Record<string, unknown>): {
    name: string
    in: string
    required?: boolean
    schema?: unknown
    type?: string
  } {
    if (typeof p.$ref === 'string') {
      const parts = p.$ref.replace(/^#\//, '').split('/')
      let cur: unknown = this.doc
      for (const part of parts) cur = (cur as Record<string, unknown>)[part]
      return cur as never
    }
    return p as never
  }

  /** null when the body is valid for the operation (or it takes none), else the reason */
  checkRequestBody(op: OpenApiOperation, body: unknown): string | null {
    // Swagger 2.0: a parameter `in: body`
    const params = (op.op.parameters ?? []) as Array<Record<string, unknown>>
    const bi = params.findIndex((p) => this.resolveParam(p).in === 'body')
    if (bi >= 0) {
      const bp = this.resolveParam(params[bi]!)
      if (body === undefined) return bp.required ? 'request body is required' : null
      return this.check(this.pointerOf(op, 'parameters', String(bi), 'schema'), body)
    }
    const rb = op.op.requestBody as { content?: Record<string, unknown>; required?: boolean } | undefined
    if (!rb?.content?.['application/json']) return body === undefined ? null : null
    if (body === undefined) return rb.required ? 'request body is required' : null
    return this.check(this.pointerOf(op, 'requestBody', 'content', 'application/json', 'schema'), body)
  }

  /** query parameters: known ones are type-checked (unknown ones are ignored, as actix/serde servers do) */
  checkQuery(op: OpenApiOperation, query: URLSearchParams): string | null {
    const params = ((op.op.parameters ?? []) as Array<Record<string, unknown>>)
      .map((p) => this.resolveParam(p))
      .filter((p) => p.in === 'query')
    for (const [k, raw] of query) {
      const p = params.find((x) => x.name === k)
      if (!p) continue
      const t = (p.schema as { type?: string } | undefined)?.type ?? p.type
      if (t === 'boolean' && raw !== 'true' && raw !== 'false') return `query parameter ${k} must be a boolean`
      if (t === 'integer' && !/^\d+$/.test(raw)) return `query parameter ${k} must be an integer`
    }
    return null
  }

  checkResponse(op: OpenApiOperation, status: number, body: unknown): string | null {
    const r = (op.op.responses ?? {})[String(status)] as
      { content?: Record<string, unknown>; schema?: unknown } | undefined
    if (r?.schema) return this.check(this.pointerOf(op, 'responses', String(status), 'schema'), body)
    if (!r?.content?.['application/json']) return null
    return this.check(this.pointerOf(op, 'responses', String(status), 'content', 'application/json', 'schema'), body)
  }
}
