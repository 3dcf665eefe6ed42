import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { API_FIXTURE_DIR, apiFixture } from '../../support/fakes/api-fixtures.js'

/** The fakes' API fixtures (scripts/gen-api-fixtures.mjs): each names its source and carries no prose. */
const names = readdirSync(API_FIXTURE_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5))

/** keys in keyword position (not inside name maps such as properties/paths/responses) that are prose */
function prose(node: unknown, mapCtx = false, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((x) => prose(x, false, out))
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) {
      if (!mapCtx && ['description', 'summary', 'example', 'examples', 'externalDocs'].includes(k)) out.push(k)
      if (['enum', 'const', 'default', 'required'].includes(k) && !mapCtx) continue
      const isMap =
        !mapCtx &&
        [
          'properties',
          'patternProperties',
          'definitions',
          'schemas',
          'paths',
          'responses',
          'content',
          'headers',
          'parameters',
          'requestBodies',
          'files',
          'endpoints',
          'params',
          'parts',
          'nested',
          'fields',
          'values',
          'methods',
          'options',
        ].includes(k)
      prose(v, isMap && !Array.isArray(v), out)
    }
  return out
}

describe('test/fixtures/api', () => {
  it('has the five vendor fixtures the fakes read', () => {
    expect(names.sort()).toEqual([
      'elasticsearch-8.14',
      'milvus-v2.6',
      'opensearch-v0.2.0',
      'qdrant-v1.8.x',
      'weaviate-1.27.0',
    ])
  })
  for (const n of names) {
    it(`${n} names its source files, upstream and version, and holds no prose`, () => {
      const f = apiFixture(n)
      expect(f.generatedBy).toContain('gen-api-fixtures')
      expect(f.source.files.length).toBeGreaterThan(0)
      for (const s of f.source.files) expect(s.sha256).toMatch(/^[0-9a-f]{64}$/)
      expect(f.source.upstream).toMatch(/@/)
      expect(f.source.version).toBeTruthy()
      const body = f.document ?? f.files ?? f.endpoints ?? f.protobuf
      expect(body).toBeTruthy()
      expect(prose(body)).toEqual([])
    })
  }
})
