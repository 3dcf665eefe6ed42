import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/core/errors.js'
import { genCollectionNameById } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore } from '../../../src/vector/store.js'
import { startFakeElasticsearch, type FakeElasticsearch } from '../../support/fakes/elasticsearch.js'
import { scratchRedis, type ScratchRedis } from '../../support/scratch.js'
import { difyRecords, vectorStoreContract } from './contract.js'
import { configFromVars } from '../../support/config.js'

/**
 * FAKE server: no Elasticsearch on this machine. test/support/fakes/elasticsearch.ts checks every request against
 * Elastic's 8.14 endpoint files and the typed body definitions, and holds state.
 */
function configFor(url: string, extra: Record<string, string> = {}) {
  const u = new URL(url)
  return configFromVars({
    VECTOR_STORE: 'elasticsearch',
    ELASTICSEARCH_HOST: u.hostname,
    ELASTICSEARCH_PORT: u.port,
    ELASTICSEARCH_USERNAME: 'elastic',
    ELASTICSEARCH_PASSWORD: 's3cret',
    ...extra,
  })
}

const AUTH = { username: 'elastic', password: 's3cret' }

describe('elasticsearch (fake server, ES 8.14 REST spec)', () => {
  let fake: FakeElasticsearch
  let redis: ScratchRedis
  const ready = (async () => {
    fake = await startFakeElasticsearch({ auth: AUTH })
    redis = await scratchRedis('veces')
  })()
  afterAll(async () => {
    await ready
    await fake.close()
    await redis.drop()
  })

  vectorStoreContract('elasticsearch', async () => {
    await ready
    const store = await openVectorStore(configFor(fake.url), {
      redis: { client: redis.client, keyPrefix: redis.prefix },
    })
    return {
      store,
      redis: { client: redis.client, keyPrefix: redis.prefix },
      newTarget: () => ({ collection: genCollectionNameById(randomUUID()) }),
      expectDifyLayout(layout, t, dim) {
        expect(layout.name).toBe(t.collection.toLowerCase())
        expect(layout.metric).toBe('cosine')
        const props = layout.details.properties as Record<string, any>
        expect(props.page_content).toEqual({ type: 'text' })
        expect(props.vector).toEqual({ type: 'dense_vector', dims: dim, index: true, similarity: 'cosine' })
        expect(props.metadata.properties.doc_id).toEqual({ type: 'keyword' })
        expect(props.metadata.properties.document_id).toEqual({ type: 'keyword' })
      },
      close: () => store.close(),
    }
  })

  describe('elasticsearch specifics', () => {
    let store: VectorStore
    beforeAll(async () => {
      await ready
      store = await openVectorStore(configFor(fake.url))
    })
    afterAll(async () => store?.close())

    it("stores Dify's documents: lower-cased index, _id = doc_id, {page_content, vector, metadata}", async () => {
      const t = { collection: genCollectionNameById(randomUUID()) }
      const [r] = difyRecords(1)
      await store.ensureCollection(t, 8)
      await store.upsert(t, [r!])
      const ix = fake.indices.get(t.collection.toLowerCase())!
      expect([...ix.docs.keys()]).toEqual([r!.docId])
      expect(ix.docs.get(r!.docId)!.source).toEqual({ page_content: r!.text, vector: r!.vector, metadata: r!.metadata })
    })

    it('scans with a point in time + search_after, asks for the vector, closes the PIT; search sends Dify knn', async () => {
      const t = { collection: genCollectionNameById(randomUUID()) }
      const recs = difyRecords(7)
      await store.ensureCollection(t, 8)
      await store.upsert(t, recs)
      const n = fake.requests.length
      let got = 0
      for await (const b of store.scan(t, { batchSize: 3 })) got += b.length
      expect(got).toBe(7)
      const sent = fake.requests.slice(n)
      expect(sent[0]).toMatchObject({
        method: 'POST',
        path: `/${t.collection.toLowerCase()}/_pit`,
        query: { keep_alive: '2m' },
      })
      const searches = sent.filter((q) => q.path === '/_search')
      expect(searches.length).toBe(3)
      expect(searches[1]!.body).toMatchObject({
        _source: ['page_content', 'metadata', 'vector'],
        sort: [{ _shard_doc: 'asc' }],
      })
      expect((searches[1]!.body as any).search_after).toHaveLength(1)
      expect(sent.at(-1)).toMatchObject({ method: 'DELETE', path: '/_pit' })
      expect(fake.pits.size).toBe(0)
      await store.search(t, recs[0]!.vector, 4, { documentIds: ['d'] })
      expect(fake.requests.at(-1)!.body).toMatchObject({
        knn: { field: 'vector', k: 4, num_candidates: 6, filter: { terms: { 'metadata.document_id': ['d'] } } },
        size: 4,
      })
      expect(fake.requests.filter((q) => q.status >= 400 && q.status !== 404)).toEqual([])
    })

    it('the fake rejects what Elasticsearch 8.14 rejects', async () => {
      const auth = `Basic ${Buffer.from('elastic:s3cret').toString('base64')}`
      const call = async (method: string, path: string, body?: unknown, ct = 'application/json') =>
        (
          await fetch(`${fake.url}${path}`, {
            method,
            headers: { 'content-type': ct, authorization: auth },
            body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
          })
        ).status
      const t = { collection: genCollectionNameById(randomUUID()) }
      await store.ensureCollection(t, 8)
      const ix = t.collection.toLowerCase()
      expect(await call('PUT', `/${t.collection}`)).toBe(400) // upper case
      expect(await call('POST', `/${ix}/_search?bogus=1`, {})).toBe(400) // unknown URL parameter
      expect(await call('POST', `/${ix}/_pit`)).toBe(400) // keep_alive is required
      expect(await call('POST', `/${ix}/_search`, { knn: { field: 'vector', query_vector: [1], k: 1 } })).toBe(400) // dims
      expect(await call('POST', `/${ix}/_search`, { nope: 1 })).toBe(400)
      expect(await call('POST', `/${ix}/_search`, {}, 'application/vnd.elasticsearch+json; compatible-with=9')).toBe(
        400,
      )
      expect(await call('POST', `/${ix}/_search`, {}, 'application/vnd.elasticsearch+json; compatible-with=8')).toBe(
        200,
      )
      expect(await call('POST', '/_bulk', '{"index":{"_index":"x"}}')).toBe(400) // no trailing newline
      expect(await call('DELETE', `/${ix}-missing`)).toBe(404)
      expect((await fetch(`${fake.url}/`)).status).toBe(401)
    })

    it('refuses Elasticsearch 7 as Dify does', async () => {
      const old = await startFakeElasticsearch({ version: '7.17.9' })
      const s = await openVectorStore(configFor(old.url))
      try {
        await expect(s.describe()).rejects.toBeInstanceOf(ConfigError)
        await expect(s.describe()).rejects.toThrow(/8\.0\.0/)
      } finally {
        await s.close()
        await old.close()
      }
    })
  })
})
