#!/usr/bin/env node
// Reduces the vendors' API specifications to what the in-process fakes (test/support/fakes/) validate, and writes
// them to test/fixtures/api/<vendor>-<version>.json, so the tests need nothing outside the repository.
//
//   npm run gen:api-fixtures [-- --specs DIR]     (without --specs: $DIFY_OPS_REFERENCE/specs; scripts/reference.mjs)
//
// Kept: paths, methods, operation ids, parameters (name, in, required, schema/type/options), request bodies and
// response schemas, every schema keyword, `$ref`s, and the `x-version-*` / `x-operation-group` extensions the
// OpenSearch fake reads. Dropped: prose and samples (description, summary, title, example(s), externalDocs, tags,
// info apart from title/version, documentation links, other `x-` extensions). Property and parameter names are never
// touched: only keys in keyword position are dropped. Each fixture names its source files (with SHA-256), upstream
// and version in `source`; the reduced content is under `document` (OpenAPI/Swagger), `files` (a multi-file OpenAPI
// set, by path relative to the spec root), `endpoints` (Elasticsearch rest-api-spec) or `protobuf` (protobufjs JSON
// descriptor for gRPC).
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { referenceSource } from './reference.mjs'

const require = createRequire(import.meta.url)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const OUT = join(ROOT, 'test/fixtures/api')
const SPECS = referenceSource({
  script: 'gen:api-fixtures',
  what: "the vendors' API specifications",
  option: 'specs',
  arg: 'DIR',
  under: 'specs',
})

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex')
const rel = (file) => relative(SPECS, file)

// ---- OpenAPI / Swagger / JSON Schema reduction -------------------------------------------------------------------
const PROSE = new Set([
  'description',
  'summary',
  'title',
  'example',
  'examples',
  'externalDocs',
  'tags',
  'x-examples',
  'x-example',
])
const KEEP_X = /^x-(version-added|version-deprecated|version-removed|operation-group|nullable)$/
/** keywords whose value is a map from names (properties, status codes, media types, …) to nodes */
const MAPS = new Set([
  'properties',
  'patternProperties',
  'definitions',
  '$defs',
  'schemas',
  'paths',
  'responses',
  'content',
  'headers',
  'requestBodies',
  'securitySchemes',
  'securityDefinitions',
  'links',
  'callbacks',
  'encoding',
  'dependentSchemas',
  'pathItems',
])
/** keywords whose value is data, copied as is */
const LITERAL = new Set([
  'enum',
  'const',
  'default',
  'required',
  'discriminator',
  'security',
  'servers',
  'produces',
  'consumes',
  'x-version-added',
  'x-version-deprecated',
  'x-version-removed',
  'x-operation-group',
])

function reduceNode(node, parentKey = '') {
  if (Array.isArray(node)) return node.map((x) => reduceNode(x, parentKey))
  if (!node || typeof node !== 'object') return node
  const out = {}
  for (const [k, v] of Object.entries(node)) {
    if (PROSE.has(k)) continue
    if (k.startsWith('x-') && !KEEP_X.test(k)) continue
    if (LITERAL.has(k)) out[k] = v
    else if (MAPS.has(k) && v && typeof v === 'object' && !Array.isArray(v) && !(k === 'parameters')) {
      const m = {}
      for (const [name, child] of Object.entries(v)) m[name] = reduceNode(child, k)
      out[k] = m
    } else out[k] = reduceNode(v, k)
  }
  return out
}

/** components.parameters / Swagger top-level parameters are maps too (operation parameters are arrays) */
function reduceDocument(doc) {
  const out = {}
  for (const [k, v] of Object.entries(doc)) {
    if (k === 'info') out.info = { title: v.title, version: v.version }
    else if (k === 'parameters' && v && !Array.isArray(v))
      out.parameters = Object.fromEntries(Object.entries(v).map(([n, p]) => [n, reduceNode(p)]))
    else if (k === 'components') {
      out.components = {}
      for (const [ck, cv] of Object.entries(v)) {
        if (ck === 'examples') continue
        out.components[ck] = Object.fromEntries(Object.entries(cv).map(([n, x]) => [n, reduceNode(x)]))
      }
    } else if (PROSE.has(k) || (k.startsWith('x-') && !KEEP_X.test(k))) continue
    else
      out[k] = MAPS.has(k)
        ? Object.fromEntries(Object.entries(v).map(([n, x]) => [n, reduceNode(x, k)]))
        : reduceNode(v, k)
  }
  return out
}

/**
 * The part of a multi-file OpenAPI set that the operations of `pathFiles` reach through `$ref` (parameters, request
 * bodies and their schemas; responses are left out), each node kept at its own file and JSON pointer so every
 * relative `$ref` still resolves.
 */
function reachable(files, pathFiles) {
  const out = {}
  const unesc = (t) => t.replace(/~1/g, '/').replace(/~0/g, '~')
  const put = (file, pointer, node) => {
    const parts = pointer.split('/').slice(1).map(unesc)
    if (!parts.length) return void (out[file] = node)
    let cur = (out[file] ??= {})
    for (const p of parts.slice(0, -1)) cur = cur[p] ??= {}
    cur[parts[parts.length - 1]] = node
  }
  const get = (file, pointer) =>
    pointer
      .split('/')
      .slice(1)
      .map(unesc)
      .reduce((o, k) => o?.[k], files[file])
  const seen = new Set()
  const queue = []
  const refs = (file, node) => {
    if (Array.isArray(node)) return node.forEach((x) => refs(file, x))
    if (!node || typeof node !== 'object') return
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') {
        const [path, frag = ''] = v.split('#')
        const target = path ? join(dirname(join('/', file)), path).slice(1) : file
        queue.push([target, frag])
      } else refs(file, v)
    }
  }
  for (const file of pathFiles) {
    const doc = files[file]
    for (const k of ['openapi', 'info']) if (doc[k] !== undefined) put(file, `/${k}`, doc[k])
    for (const [template, item] of Object.entries(doc.paths ?? {})) {
      for (const [method, op] of Object.entries(item)) {
        const { responses: _r, ...kept } = op
        const esc = template.replace(/~/g, '~0').replace(/\//g, '~1')
        put(file, `/paths/${esc}/${method}`, kept)
        refs(file, kept)
      }
    }
  }
  while (queue.length) {
    const [file, pointer] = queue.shift()
    const key = `${file}#${pointer}`
    if (seen.has(key)) continue
    seen.add(key)
    const node = get(file, pointer)
    if (node === undefined) throw new Error(`unresolved $ref ${key}`)
    put(file, pointer, node)
    refs(file, node)
  }
  for (const [file, doc] of Object.entries(files))
    if (out[file] && doc.openapi !== undefined) out[file].openapi = doc.openapi
  return out
}

function write(name, fixture) {
  mkdirSync(OUT, { recursive: true })
  const file = join(OUT, `${name}.json`)
  writeFileSync(
    file,
    JSON.stringify({ generatedBy: 'scripts/gen-api-fixtures.mjs (npm run gen:api-fixtures)', ...fixture }) + '\n',
  )
  console.log(`${relative(ROOT, file)}: ${(statSync(file).size / 1024).toFixed(0)} KiB`)
}

// ---- the fixtures ------------------------------------------------------------------------------------------------
function openapiJson(name, file, upstream) {
  const path = join(SPECS, file)
  const doc = JSON.parse(readFileSync(path, 'utf8'))
  write(name, {
    source: {
      files: [{ path: file, sha256: sha256(path) }],
      upstream,
      version: doc.info?.version ?? null,
      format: doc.openapi ? `OpenAPI ${doc.openapi}` : `Swagger ${doc.swagger}`,
    },
    document: reduceDocument(doc),
  })
}

openapiJson(
  'qdrant-v1.8.x',
  'qdrant/openapi-v1.8.x.json',
  'qdrant/qdrant docs/redoc/v1.8.x/openapi.json @ 877ee63f006643f19ed83ebe83c33298aa45ba24',
)
openapiJson(
  'weaviate-1.27.0',
  'weaviate/openapi-schema-v1.27.0.json',
  'weaviate/weaviate openapi-specs/schema.json @ v1.27.0 (ede853b1b941e44acee51cb79e858342e4287bfd)',
)

{
  // Elasticsearch rest-api-spec: one file per endpoint; the fake reads url.paths, params (type/options/required), body.required
  const dir = join(SPECS, 'elasticsearch/8.14')
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
  const endpoints = {}
  for (const f of files) {
    const [[name, spec]] = Object.entries(JSON.parse(readFileSync(join(dir, f), 'utf8')))
    endpoints[name] = {
      url: {
        paths: spec.url.paths.map((p) => ({
          path: p.path,
          methods: p.methods,
          ...(p.parts
            ? {
                parts: Object.fromEntries(
                  Object.entries(p.parts).map(([k, v]) => [
                    k,
                    { type: v.type, ...(v.required ? { required: true } : {}) },
                  ]),
                ),
              }
            : {}),
        })),
      },
      params: Object.fromEntries(
        Object.entries(spec.params ?? {}).map(([k, v]) => [
          k,
          { type: v.type, ...(v.options ? { options: v.options } : {}), ...(v.required ? { required: true } : {}) },
        ]),
      ),
      ...(spec.body ? { body: { required: spec.body.required === true } } : {}),
    }
  }
  write('elasticsearch-8.14', {
    source: {
      files: files.map((f) => ({ path: `elasticsearch/8.14/${f}`, sha256: sha256(join(dir, f)) })),
      upstream:
        'elastic/elasticsearch-specification specification/_json_spec/*.json, branch 8.14 @ 2aaa0c1bf8bc39f87589c734dfd2b68dde1aaa7b',
      version: '8.14',
      format: 'Elasticsearch rest-api-spec',
    },
    endpoints,
  })
}

{
  // OpenSearch: a multi-file OpenAPI 3.1 set; relative $refs are kept, so every file keeps its path
  const root = join(SPECS, 'opensearch/api-spec-v0.2.0/spec')
  const files = {}
  const sources = []
  const walk = (d) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f)
      if (statSync(p).isDirectory()) walk(p)
      else if (f.endsWith('.yaml')) {
        files[relative(root, p)] = reduceDocument(parseYaml(readFileSync(p, 'utf8')))
        sources.push({ path: rel(p), sha256: sha256(p) })
      }
    }
  }
  walk(root)
  write('opensearch-v0.2.0', {
    source: {
      files: sources,
      upstream:
        'opensearch-project/opensearch-api-specification spec/ @ v0.2.0 (a4204f2c1f0a7543d7e01051496aafbced9b03dd)',
      version: '0.2.0',
      format:
        'OpenAPI 3.1, several files; only what the operations of namespaces/_core.yaml and namespaces/indices.yaml reach (responses left out: the fake validates parameters and request bodies)',
    },
    files: reachable(files, ['namespaces/_core.yaml', 'namespaces/indices.yaml']),
  })
}

{
  // Milvus: the protos as a protobufjs JSON descriptor (no comments), loadable by @grpc/proto-loader fromJSON
  const protobuf = require('protobufjs')
  const pbDir = dirname(require.resolve('protobufjs/package.json'))
  const dir = join(SPECS, 'milvus/v2.6')
  const root = new protobuf.Root()
  root.resolvePath = (_o, target) => (target.startsWith('google/') ? join(pbDir, target) : join(dir, target))
  root.loadSync(['milvus.proto', 'schema.proto', 'common.proto'], { keepCase: true, alternateCommentMode: false })
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.proto'))
    .sort()
  write('milvus-v2.6', {
    source: {
      files: files.map((f) => ({ path: `milvus/v2.6/${f}`, sha256: sha256(join(dir, f)) })),
      upstream:
        'milvus-io/milvus-proto proto/*.proto @ v2.6.3 (d15826602cc929eafe60d1b04544df8acfc69492), with protobufjs google/protobuf/descriptor.proto',
      version: 'v2.6.3',
      format: 'protobufjs JSON descriptor (keepCase)',
    },
    protobuf: root.toJSON({ keepComments: false }),
  })
}
