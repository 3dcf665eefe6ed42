import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/core/errors.js'
import { genCollectionNameById } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore } from '../../../src/vector/store.js'
import { uuid5 } from '../../../src/vector/stores/weaviate.js'
import { startFakeWeaviate, type FakeWeaviate } from '../../support/fakes/weaviate.js'
import { scratchRedis, type ScratchRedis } from '../../support/scratch.js'
import { difyRecords, vectorStoreContract } from './contract.js'
import { configFromVars } from '../../support/config.js'

/**
 * FAKE server: Weaviate cannot run on this machine. test/support/fakes/weaviate.ts checks every REST request
 * against Weaviate 1.27.0's published OpenAPI document and parses GraphQL against the class schemas it holds.
 */
function configFor(url: string, extra: Record<string, string> = {}) {
  return configFromVars({ VECTOR_STORE: 'weaviate', WEAVIATE_ENDPOINT: url, WEAVIATE_API_KEY: 'wk', ...extra })
}

describe('weaviate (fake server, Weaviate 1.27.0 OpenAPI, REST + GraphQL)', () => {
  let fake: FakeWeaviate
  let redis: ScratchRedis
  const ready = (async () => {
    fake = await startFakeWeaviate({ apiKey: 'wk' })
    redis = await scratchRedis('vecweaviate')
  })()
  afterAll(async () => {
    await ready
    await fake.close()
    await redis.drop()
  })

  vectorStoreContract('weaviate', async () => {
    await ready
    const store = await openVectorStore(configFor(fake.url), {
      redis: { client: redis.client, keyPrefix: redis.prefix },
    })
    return {
      store,
      redis: { client: redis.client, keyPrefix: redis.prefix },
      newTarget: () => ({ collection: genCollectionNameById(randomUUID()) }),
      expectDifyLayout(layout, t) {
        expect(layout.name).toBe(t.collection)
        expect(layout.metric).toBe('cosine')
        expect(layout.details.vector).toBe('named:default')
        expect(layout.details.vectorIndexType).toBe('hnsw')
        const props = layout.details.properties as Array<{
          name: string
          dataType: string[]
          tokenization: string | null
        }>
        // Dify 1.14.0+ (weaviate_vector.py `_create_collection`): also doc_type, is_summary, original_chunk_id
        expect(props.slice(0, 7)).toEqual([
          { name: 'text', dataType: ['text'], tokenization: 'word' },
          { name: 'document_id', dataType: ['text'], tokenization: 'word' },
          { name: 'doc_id', dataType: ['text'], tokenization: 'word' },
          { name: 'doc_type', dataType: ['text'], tokenization: 'word' },
          { name: 'chunk_index', dataType: ['int'], tokenization: null },
          { name: 'is_summary', dataType: ['boolean'], tokenization: null },
          { name: 'original_chunk_id', dataType: ['text'], tokenization: 'word' },
        ])
        // other metadata keys come from auto-schema, as with Dify
        expect(props.map((p) => p.name)).toEqual(expect.arrayContaining(['doc_hash', 'dataset_id']))
      },
      close: () => store.close(),
    }
  })

  describe('weaviate specifics', () => {
    it('per release: Dify ≤ 1.13 creates four properties (1.14.0 added doc_type, is_summary, original_chunk_id); WEAVIATE_TOKENIZATION applies to text', async () => {
      await ready
      const old = await openVectorStore(configFor(fake.url, { WEAVIATE_TOKENIZATION: 'whitespace' }), {
        weaviateSummaryProperties: false,
      })
      try {
        const t = { collection: genCollectionNameById(randomUUID()) }
        await old.ensureCollection(t, 8)
        const props = (await old.layout(t))!.details.properties as Array<{ name: string; tokenization: string | null }>
        expect(props.map((p) => p.name)).toEqual(['text', 'document_id', 'doc_id', 'chunk_index'])
        expect(props[0]!.tokenization).toBe('whitespace')
        // opened as 1.14+: the missing properties are added to the existing class (Dify's _ensure_properties)
        const now = await openVectorStore(configFor(fake.url), { weaviateSummaryProperties: true })
        await now.ensureCollection(t, 8)
        expect(((await now.layout(t))!.details.properties as Array<{ name: string }>).map((p) => p.name)).toEqual([
          'text',
          'document_id',
          'doc_id',
          'chunk_index',
          'doc_type',
          'is_summary',
          'original_chunk_id',
        ])
        await now.deleteTarget(t)
        await now.close()
      } finally {
        await old.close()
      }
    })

    let store: VectorStore
    beforeAll(async () => {
      await ready
      store = await openVectorStore(configFor(fake.url))
    })

    it('object ids are uuid5(NAMESPACE_URL, text), as Dify 1.9.2–1.15 writes them; identical texts collapse', async () => {
      // values from Python's uuid.uuid5(uuid.NAMESPACE_URL, …)
      expect(uuid5('6ba7b811-9dad-11d1-80b4-00c04fd430c8', 'hello')).toBe('074171de-bc84-5ea4-b636-1135477620e1')
      expect(uuid5('6ba7b811-9dad-11d1-80b4-00c04fd430c8', 'ünï ✓')).toBe('52dd4acd-7199-53b7-b01a-437271d1bdf5')
      const t = { collection: genCollectionNameById(randomUUID()) }
      const [a, b] = difyRecords(2)
      await store.ensureCollection(t, 8)
      await store.upsert(t, [a!, { ...b!, text: a!.text }])
      const st = fake.classes.get(t.collection)!
      expect([...st.objects.keys()]).toEqual([uuid5('6ba7b811-9dad-11d1-80b4-00c04fd430c8', a!.text)])
      expect(await store.count(t)).toBe(1)
    })

    it('reads classes created before Dify 1.9.2 (legacy unnamed vector) and refuses to write to them', async () => {
      const name = genCollectionNameById(randomUUID())
      const id = randomUUID()
      fake.addLegacyClass(name, [
        { id, properties: { text: 'old', doc_id: id, document_id: 'd1' }, vector: [0.6, 0.8, 0, 0, 0, 0, 0, 0] },
      ])
      const t = { collection: name }
      const got = []
      for await (const b of store.scan(t)) got.push(...b)
      expect(got).toEqual([
        {
          id,
          docId: id,
          text: 'old',
          metadata: { doc_id: id, document_id: 'd1' },
          vector: [0.6, 0.8, 0, 0, 0, 0, 0, 0].map(Math.fround),
        },
      ])
      const hits = await store.search(t, [0.6, 0.8, 0, 0, 0, 0, 0, 0], 1)
      expect(hits[0]!.docId).toBe(id)
      expect(hits[0]!.score).toBeCloseTo(1, 5)
      await expect(store.ensureCollection(t, 8)).rejects.toBeInstanceOf(ConfigError)
    })

    it('Dify ≤ 1.9.1 (v3 client): a class with the property text only and the legacy vector; object id = doc_id', async () => {
      const v3 = await openVectorStore(configFor(fake.url), { weaviateClassLayout: 'v3', weaviateIdScheme: 'doc-id' })
      try {
        const t = { collection: genCollectionNameById(randomUUID()) }
        expect(await v3.ensureCollection(t, 8)).toBe('created')
        const recs = difyRecords(3)
        await v3.upsert(t, recs)
        const layout = (await v3.layout(t))!
        expect(layout.details.vector).toBe('legacy')
        expect(layout.dimension).toBe(8)
        expect((layout.details.properties as Array<{ name: string }>)[0]!.name).toBe('text')
        expect(fake.classes.get(t.collection)!.schema.vectorConfig).toBeUndefined()
        expect([...fake.classes.get(t.collection)!.objects.keys()].sort()).toEqual(recs.map((r) => r.docId).sort())
        const got = []
        for await (const b of v3.scan(t)) got.push(...b)
        expect(got.map((r) => r.docId).sort()).toEqual(recs.map((r) => r.docId).sort())
        expect(await v3.ensureCollection(t, 8)).toBe('exists')
        // a class of Dify 1.9.2+ (named vector) cannot be written by the v3 client
        const named = { collection: genCollectionNameById(randomUUID()) }
        await store.ensureCollection(named, 8)
        await expect(v3.ensureCollection(named, 8)).rejects.toBeInstanceOf(ConfigError)
      } finally {
        await v3.close()
      }
    })

    it('refuses to write to a server older than 1.27', async () => {
      const old = await startFakeWeaviate({ version: '1.26.5' })
      const s = await openVectorStore(configFromVars({ VECTOR_STORE: 'weaviate', WEAVIATE_ENDPOINT: old.url }))
      expect((await s.describe()).serverVersion).toBe('Weaviate 1.26.5')
      await expect(s.ensureCollection({ collection: genCollectionNameById(randomUUID()) }, 8)).rejects.toThrow(
        /older than 1\.27/,
      )
      await old.close()
    })

    it('the fake enforces the cursor rules and the spec', async () => {
      const t = { collection: genCollectionNameById(randomUUID()) }
      await store.ensureCollection(t, 8)
      const st = (p: string, init?: RequestInit) =>
        fetch(`${fake.url}${p}`, {
          ...init,
          headers: { authorization: 'Bearer wk', 'content-type': 'application/json' },
        }).then((r) => r.status)
      expect(await st(`/v1/objects?after=${randomUUID()}`)).toBe(422)
      expect(await st(`/v1/objects?class=${t.collection}&after=${randomUUID()}&offset=3`)).toBe(422)
      expect(await st(`/v1/objects?class=${t.collection}&include=vectors`)).toBe(422)
      expect(
        await st('/v1/schema', {
          method: 'POST',
          body: JSON.stringify({ class: 'X', properties: [{ name: 'a', dataType: ['text'], tokenization: 'nope' }] }),
        }),
      ).toBe(422)
      expect(await st('/v1/nope')).toBe(404)
      expect(
        fake.requests.filter(
          (r) => r.status >= 400 && r.status !== 404 && !r.path.startsWith('/v1/objects?after') && r.status !== 422,
        ),
      ).toEqual([])
    })
  })
})
