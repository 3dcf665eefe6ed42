import { join, relative } from 'node:path'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'

/**
 * A multi-file OpenAPI 3.1 document set (the OpenSearch API specification: namespaces/*.yaml + schemas/*.yaml, reduced
 * to what is validated in test/fixtures/api/opensearch-v0.2.0.json, by path relative to the spec root). Every file is
 * registered with Ajv (JSON Schema 2020-12) under its own URI, so the relative `$ref`s
 * (`../schemas/_common.yaml#/components/schemas/…`) resolve against the file that holds them. OpenAPI objects that
 * are not schemas (parameters, requestBodies) are followed by `deref`.
 */
const BASE = 'https://spec.local/'

export interface Operation31 {
  file: string
  method: string
  template: string
  re: RegExp
  parts: string[]
  op: Record<string, any>
}

export class OpenApi31 {
  readonly docs = new Map<string, any>()
  readonly ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false })
  readonly operations: Operation31[] = []
  private readonly cache = new Map<string, ValidateFunction>()

  /** a fixed root for resolving the files' relative `$ref` paths (the files are not read from disk) */
  readonly root = '/spec'

  constructor(files: Record<string, any>, pathFiles: string[]) {
    for (const [rel, doc] of Object.entries(files)) {
      this.docs.set(rel, doc)
      this.ajv.addSchema({ ...doc, $id: BASE + rel }, undefined, undefined, false)
    }
    for (const file of pathFiles) {
      for (const [template, item] of Object.entries<Record<string, any>>(this.docs.get(file).paths ?? {})) {
        const parts: string[] = []
        const re = new RegExp(`^${template.replace(/\{(\w+)\}/g, (_m, n) => (parts.push(n), '([^/_][^/]*)'))}$`)
        for (const [method, op] of Object.entries(item)) {
          if (['get', 'put', 'post', 'delete', 'head', 'patch'].includes(method))
            this.operations.push({ file, method: method.toUpperCase(), template, re, parts, op })
        }
      }
    }
  }

  /** follow an OpenAPI `$ref` (relative to `file`) to the object and the file it lives in */
  deref(file: string, node: any): { file: string; node: any; pointer: string } {
    let pointer = ''
    while (node && typeof node === 'object' && typeof node.$ref === 'string') {
      const [path, frag = ''] = (node.$ref as string).split('#')
      if (path) file = relative(this.root, join(this.root, file, '..', path))
      pointer = frag
      node = frag
        .split('/')
        .slice(1)
        .reduce((o: any, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], this.docs.get(file))
      if (node === undefined) throw new Error(`unresolved $ref ${file}#${frag}`)
    }
    return { file, node, pointer }
  }

  /** a validator for the schema at `file#pointer` */
  validator(file: string, pointer: string): ValidateFunction {
    const ref = `${BASE}${file}#${pointer}`
    let v = this.cache.get(ref)
    if (!v) {
      v = this.ajv.compile({ $ref: ref })
      this.cache.set(ref, v)
    }
    return v
  }

  /** the operation for a method + path; literal segments win over `{index}` */
  match(
    method: string,
    path: string,
  ): { operation: Operation31; params: Record<string, string> } | { pathKnown: boolean } {
    let best: { operation: Operation31; params: Record<string, string> } | undefined
    let pathKnown = false
    for (const operation of this.operations) {
      const m = operation.re.exec(path)
      if (!m) continue
      pathKnown = true
      if (operation.method !== method) continue
      if (!best || operation.parts.length < best.operation.parts.length) {
        best = {
          operation,
          params: Object.fromEntries(operation.parts.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])),
        }
      }
    }
    return best ?? { pathKnown }
  }

  /** resolved parameters of an operation: name → {in, required, schema location} */
  parameters(
    operation: Operation31,
  ): Array<{ name: string; in: string; required: boolean; file: string; pointer: string }> {
    return (operation.op.parameters ?? []).map((p: any) => {
      const r = this.deref(operation.file, p)
      return {
        name: r.node.name,
        in: r.node.in,
        required: !!r.node.required,
        file: r.file,
        pointer: `${r.pointer}/schema`,
      }
    })
  }

  /** the request body schema location for a media type, or null when the operation takes no body */
  requestBody(
    operation: Operation31,
  ): { required: boolean; content: Record<string, { file: string; pointer: string }> } | null {
    if (!operation.op.requestBody) return null
    const r = this.deref(operation.file, operation.op.requestBody)
    const content: Record<string, { file: string; pointer: string }> = {}
    for (const mt of Object.keys(r.node.content ?? {}))
      content[mt] = {
        file: r.file,
        pointer: `${r.pointer}/content/${mt.replace(/~/g, '~0').replace(/\//g, '~1')}/schema`,
      }
    return { required: !!r.node.required, content }
  }
}

/** compare dotted versions: a < b → negative */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d) return d
  }
  return 0
}
