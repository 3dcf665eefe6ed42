import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/core/errors.js'
import { genCollectionNameById } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore } from '../../../src/vector/store.js'
import { startFakeElasticsearch } from '../../support/fakes/elasticsearch.js'
import { startFakeOpensearch, type FakeOpensearch } from '../../support/fakes/opensearch.js'
import { scratchRedis, type ScratchRedis } from '../../support/scratch.js'
import { difyRecords, vectorStoreContract } from './contract.js'
import { configFromVars } from '../../support/config.js'

/**
 * FAKE server: no OpenSearch on this machine. test/support/fakes/opensearch.ts checks every request against the
 * OpenSearch API specification (OpenAPI 3.1, v0.2.0) and holds state.
 */
function configFor(url: string, extra: Record<string, string> = {}) {
  const u = new URL(url)
  return configFromVars({
    VECTOR_STORE: 'opensearch',
    OPENSEARCH_HOST: u.hostname,
    OPENSEARCH_PORT: u.port,
    OPENSEARCH_SECURE: 'false',
    OPENSEARCH_USER: 'admin',
    OPENSEARCH_PASSWORD: 'Adm1n!pass',
    ...extra,
  })
}
const AUTH = { username: 'admin', password: 'Adm1n!pass' }

describe('opensearch (fake server, OpenSearch API spec 0.2.0)', { timeout: 60_000 }, () => {
  let fake: FakeOpensearch
  let redis: ScratchRedis
  const ready = (async () => {
    fake = await startFakeOpensearch({ auth: AUTH })
    redis = await scratchRedis('vecos')
  })()
  afterAll(async () => {
    await ready
    await fake.close()
    await redis.drop()
  })

  vectorStoreContract('opensearch', async () => {
    await ready
    const store = await openVectorStore(configFor(fake.url), {
      redis: { client: redis.client, keyPrefix: redis.prefix },
    })
    return {
      store,
      redis: { client: redis.client, keyPrefix: redis.prefix },
      newTarget: () => ({ collection: genCollectionNameById(randomUUID()).toLowerCase() }),
      expectDifyLayout(layout, t, dim) {
        expect(layout.name).toBe(t.collection.toLowerCase())
        expect(layout.metric).toBe('l2')
        expect(layout.details.knn).toBe('true')
        const props = layout.details.properties as Record<string, any>
        expect(props.page_content).toEqual({ type: 'text' })
        expect(props.vector).toEqual({
          type: 'knn_vector',
          dimension: dim,
          method: { name: 'hnsw', space_type: 'l2', engine: 'faiss', parameters: { ef_construction: 64, m: 8 } },
        })
        expect(props.metadata).toEqual({
          type: 'object',
          properties: { doc_id: { type: 'keyword' }, document_id: { type: 'keyword' } },
        })
      },
      close: () => store.close(),
    }
  })

  describe('opensearch specifics', () => {
    let store: VectorStore
    beforeAll(async () => {
      await ready
      store = await openVectorStore(configFor(fake.url))
    })
    afterAll(async () => store?.close())

    it('random _ids: a rewrite replaces the document holding the same metadata.doc_id', async () => {
      const t = { collection: genCollectionNameById(randomUUID()).toLowerCase() }
      const [r] = difyRecords(1)
      await store.ensureCollection(t, 8)
      await store.upsert(t, [r!])
      const ix = fake.indices.get(t.collection)!
      const [id1] = [...ix.docs.keys()]
      expect(id1).toMatch(/^[0-9a-f]{32}$/)
      expect(id1).not.toBe(r!.docId)
      expect(ix.docs.get(id1!)!.source).toEqual({ page_content: r!.text, vector: r!.vector, metadata: r!.metadata })
      await store.upsert(t, [{ ...r!, text: 'edited' }])
      expect(ix.docs.size).toBe(1)
      expect([...ix.docs.values()][0]!.source.page_content).toBe('edited')
    })

    it('scans with /_search/point_in_time on 2.4+ and deletes the PIT; filtered search is Dify script_score knn_score', async () => {
      const t = { collection: genCollectionNameById(randomUUID()).toLowerCase() }
      const recs = difyRecords(7)
      await store.ensureCollection(t, 8)
      await store.upsert(t, recs)
      const n = fake.requests.length
      let got = 0
      for await (const b of store.scan(t, { batchSize: 3 })) got += b.length
      expect(got).toBe(7)
      const sent = fake.requests.slice(n)
      expect(sent.find((q) => q.path.endsWith('/_search/point_in_time') && q.method === 'POST')).toMatchObject({
        query: { keep_alive: '2m' },
      })
      expect(sent.filter((q) => q.path === '/_search')).toHaveLength(3)
      expect(sent.at(-1)).toMatchObject({ method: 'DELETE', path: '/_search/point_in_time' })
      expect(fake.pits.size).toBe(0)
      const hits = await store.search(t, recs[0]!.vector, 3, { documentIds: [recs[0]!.metadata.document_id as string] })
      expect(hits[0]!.docId).toBe(recs[0]!.docId)
      expect(fake.requests.at(-1)!.body).toMatchObject({
        size: 3,
        query: {
          script_score: { script: { source: 'knn_score', lang: 'knn', params: { field: 'vector', space_type: 'l2' } } },
        },
      })
      expect(fake.requests.filter((q) => q.status >= 400 && q.status !== 404)).toEqual([])
    })

    it('uses scroll before OpenSearch 2.4 (the fake has no point in time there)', async () => {
      const old = await startFakeOpensearch({ version: '2.3.0' })
      const s = await openVectorStore(configFor(old.url))
      try {
        const t = { collection: genCollectionNameById(randomUUID()).toLowerCase() }
        const recs = difyRecords(7)
        await s.ensureCollection(t, 8)
        await s.upsert(t, recs)
        const seen: string[] = []
        for await (const b of s.scan(t, { batchSize: 3 })) seen.push(...b.map((r) => r.docId))
        expect(seen.sort()).toEqual(recs.map((r) => r.docId).sort())
        expect(old.requests.some((q) => q.path.includes('point_in_time'))).toBe(false)
        expect(old.requests.filter((q) => q.path === '/_search/scroll' && q.method === 'POST')).toHaveLength(2)
        expect(old.scrolls.size).toBe(0)
      } finally {
        await s.close()
        await old.close()
      }
    })

    it("OpenSearch 3.x (Dify's compose uses the latest image): every operation used is still in the spec", async () => {
      const v3 = await startFakeOpensearch({ version: '3.1.0' })
      const s = await openVectorStore(configFor(v3.url))
      try {
        const t = { collection: genCollectionNameById(randomUUID()).toLowerCase() }
        const recs = difyRecords(5)
        expect((await s.describe()).serverVersion).toBe('OpenSearch 3.1.0')
        await s.ensureCollection(t, 8)
        await s.upsert(t, recs)
        let n = 0
        for await (const b of s.scan(t, { batchSize: 2 })) n += b.length
        expect(n).toBe(5)
        expect((await s.search(t, recs[1]!.vector, 2))[0]!.docId).toBe(recs[1]!.docId)
        await s.deleteByDocIds(t, [recs[0]!.docId])
        expect(await s.count(t)).toBe(4)
        await s.deleteTarget(t)
        expect(v3.requests.filter((q) => q.status >= 400 && q.status !== 404)).toEqual([])
      } finally {
        await s.close()
        await v3.close()
      }
    })

    it('the fake rejects what the OpenSearch spec rejects', async () => {
      const auth = `Basic ${Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')}`
      const call = async (method: string, path: string, body?: unknown) =>
        (
          await fetch(`${fake.url}${path}`, {
            method,
            headers: { 'content-type': 'application/json', authorization: auth },
            body: body === undefined ? undefined : JSON.stringify(body),
          })
        ).status
      const t = { collection: genCollectionNameById(randomUUID()).toLowerCase() }
      await store.ensureCollection(t, 8)
      expect(await call('POST', `/${t.collection}/_search?bogus=1`, {})).toBe(400)
      expect(await call('POST', `/${t.collection}/_search`, { size: 'ten' })).toBe(400)
      expect(await call('POST', `/${t.collection}/_pit?keep_alive=1m`)).toBe(400) // Elasticsearch's PIT endpoint
      expect(await call('PUT', '/x-bad-mapping', { mappings: { properties: { v: { type: 'knn_vector' } } } })).toBe(400) // dimension required
      expect(
        await call('POST', `/${t.collection}/_search`, { query: { knn: { vector: { vector: [1, 2], k: 1 } } } }),
      ).toBe(400)
      expect((await fetch(`${fake.url}/`)).status).toBe(401)
    })

    it('refuses a server that is not OpenSearch', async () => {
      const es = await startFakeElasticsearch()
      const s = await openVectorStore(configFor(es.url))
      try {
        await expect(s.describe()).rejects.toBeInstanceOf(ConfigError)
      } finally {
        await s.close()
        await es.close()
      }
    })
  })
})
