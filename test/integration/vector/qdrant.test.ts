import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { genCollectionNameById } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore } from '../../../src/vector/store.js'
import { startFakeQdrant, type FakeQdrant } from '../../support/fakes/qdrant.js'
import { scratchRedis, type ScratchRedis } from '../../support/scratch.js'
import { difyRecords, vectorStoreContract } from './contract.js'
import { configFromVars } from '../../support/config.js'

/**
 * FAKE server: Qdrant cannot run on this machine (no apt/npm package). test/support/fakes/qdrant.ts validates every
 * request against Qdrant 1.8's published OpenAPI document (the server Dify ships) and holds state.
 */
function configFor(url: string, extra: Record<string, string> = {}) {
  return configFromVars({ VECTOR_STORE: 'qdrant', QDRANT_URL: url, QDRANT_API_KEY: 'k3y', ...extra })
}

describe('qdrant (fake server, Qdrant 1.8 OpenAPI)', () => {
  let fake: FakeQdrant
  let redis: ScratchRedis
  const ready = (async () => {
    fake = await startFakeQdrant({ apiKey: 'k3y' })
    redis = await scratchRedis('vecqdrant')
  })()
  afterAll(async () => {
    await ready
    await fake.close()
    await redis.drop()
  })

  vectorStoreContract('qdrant', async () => {
    await ready
    const store = await openVectorStore(configFor(fake.url), {
      redis: { client: redis.client, keyPrefix: redis.prefix },
    })
    return {
      store,
      redis: { client: redis.client, keyPrefix: redis.prefix },
      // a binding collection (random uuid, as Dify's dataset_collection_bindings) and a dataset id as group_id
      newTarget: () => ({ collection: genCollectionNameById(randomUUID()), groupId: randomUUID() }),
      siblingTarget: (t) => ({ collection: t.collection, groupId: randomUUID() }),
      expectDifyLayout(layout, t, dim) {
        expect(layout.name).toBe(t.collection) // mixed case, as Dify names bindings
        expect(layout.metric).toBe('cosine')
        expect(layout.dimension).toBe(dim)
        expect(layout.details.hnswConfig).toEqual({
          m: 0,
          payload_m: 16,
          ef_construct: 100,
          full_scan_threshold: 10000,
          max_indexing_threads: 0,
          on_disk: false,
        })
        expect(layout.details.replicationFactor).toBe(1)
        expect(layout.details.payloadSchema).toEqual({
          group_id: { dataType: 'keyword', params: null },
          'metadata.doc_id': { dataType: 'keyword', params: null },
          'metadata.document_id': { dataType: 'keyword', params: null },
          page_content: {
            dataType: 'text',
            params: { type: 'text', tokenizer: 'multilingual', min_token_len: 2, max_token_len: 20, lowercase: true },
          },
        })
      },
      close: () => store.close(),
    }
  })

  describe('qdrant specifics', () => {
    let store: VectorStore
    beforeAll(async () => {
      await ready
      store = await openVectorStore(configFor(fake.url))
    })

    it("stores Dify's point layout: id = doc_id, payload {page_content, metadata, group_id}", async () => {
      const t = { collection: genCollectionNameById(randomUUID()), groupId: randomUUID() }
      const [r] = difyRecords(1)
      await store.ensureCollection(t, 8)
      await store.upsert(t, [r!])
      const p = [...fake.collections.get(t.collection)!.points.values()][0]!
      expect(p.id).toBe(r!.docId)
      expect(p.payload).toEqual({ page_content: r!.text, metadata: r!.metadata, group_id: t.groupId })
    })

    it('deleting a dataset never drops the shared collection; scroll uses with_vector (singular)', async () => {
      const t = { collection: genCollectionNameById(randomUUID()), groupId: randomUUID() }
      await store.ensureCollection(t, 8)
      await store.upsert(t, difyRecords(5))
      for await (const _ of store.scan(t)) void _
      const scroll = fake.requests.filter((q) => q.path.endsWith('/points/scroll')).at(-1)!
      expect(scroll.body).toMatchObject({
        with_vector: true,
        filter: { must: [{ key: 'group_id', match: { value: t.groupId } }] },
      })
      await store.deleteTarget(t)
      expect(fake.collections.has(t.collection)).toBe(true)
      expect(fake.requests.some((q) => q.method === 'DELETE')).toBe(false)
      expect(fake.requests.some((q) => q.path.endsWith('/points/query'))).toBe(false)
      expect(fake.requests.filter((q) => q.status >= 400 && q.status !== 404)).toEqual([])
    })

    it('the fake rejects what Qdrant 1.8 rejects', async () => {
      const bad = async (method: string, path: string, body: unknown) =>
        (
          await fetch(`${fake.url}${path}`, {
            method,
            headers: { 'content-type': 'application/json', 'api-key': 'k3y' },
            body: JSON.stringify(body),
          })
        ).status
      const t = { collection: genCollectionNameById(randomUUID()), groupId: randomUUID() }
      await store.ensureCollection(t, 8)
      expect(await bad('POST', `/collections/${t.collection}/points/query`, { query: [1] })).toBe(404)
      expect(await bad('POST', `/collections/${t.collection}/points/scroll`, { filter: { must: [], bogus: 1 } })).toBe(
        400,
      )
      expect(
        await bad('POST', `/collections/${t.collection}/points/count`, {
          filter: { must: [{ key: 'x', match: { nope: 1 } }] },
        }),
      ).toBe(400)
      expect((await fetch(`${fake.url}/`)).status).toBe(401)
    })

    it('refuses a shared collection of another dimension', async () => {
      const t = { collection: genCollectionNameById(randomUUID()), groupId: randomUUID() }
      await store.ensureCollection(t, 8)
      await expect(store.ensureCollection({ ...t, groupId: randomUUID() }, 16)).rejects.toThrow(/dimension 8/)
    })
  })
})
