import { readFileSync } from 'node:fs'

/**
 * The reduced vendor API descriptions the fakes validate against: test/fixtures/api/<vendor>-<version>.json, written
 * by scripts/gen-api-fixtures.mjs (`npm run gen:api-fixtures`) from the vendors' published files. Each names its
 * source files (with SHA-256), upstream and version in `source`.
 */
export interface ApiFixture {
  generatedBy: string
  source: { files: Array<{ path: string; sha256: string }>; upstream: string; version: string | null; format: string }
  /** OpenAPI 3.0 / Swagger 2.0 document (qdrant, weaviate) */
  document?: Record<string, unknown>
  /** multi-file OpenAPI 3.1 set, by path relative to the spec root (opensearch) */
  files?: Record<string, any>
  /** Elasticsearch rest-api-spec endpoints, by name */
  endpoints?: Record<string, any>
  /** protobufjs JSON descriptor (milvus) */
  protobuf?: Record<string, any>
}

export const API_FIXTURE_DIR = new URL('../../fixtures/api/', import.meta.url).pathname

const cache = new Map<string, ApiFixture>()

/** e.g. apiFixture('qdrant-v1.8.x') */
export function apiFixture(name: string): ApiFixture {
  let f = cache.get(name)
  if (!f) {
    f = JSON.parse(readFileSync(`${API_FIXTURE_DIR}${name}.json`, 'utf8')) as ApiFixture
    cache.set(name, f)
  }
  return f
}
