import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/core/errors.js'
import type { CollectionLayout, VectorRecord, VectorStore, VectorTarget } from '../../../src/vector/store.js'
import { keys } from '../../../src/dify/keys.js'
import type { Redis } from 'ioredis'

/** What one adapter under test provides to the shared contract. */
export interface ContractSubject {
  store: VectorStore
  /** a fresh target (a new dataset) of this store */
  newTarget(): VectorTarget
  /** another dataset next to `t` (Qdrant: the same shared collection, another group_id); default newTarget() */
  siblingTarget?(t: VectorTarget): VectorTarget
  /** assert the collection's layout is exactly Dify's for this store */
  expectDifyLayout(layout: CollectionLayout, target: VectorTarget, dim: number): void | Promise<void>
  /** when given, Dify's vector_indexing_* cache keys are checked */
  redis?: { client: Redis; keyPrefix: string }
  close(): Promise<void>
}

const DIM = 8

/** Dify-layout records of one dataset: metadata {doc_id, doc_hash, document_id, dataset_id}, unit vectors. */
export function difyRecords(n: number, dim = DIM, datasetId = randomUUID()): VectorRecord[] {
  const docs = [randomUUID(), randomUUID(), randomUUID()]
  let seed = 12345
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1
  return Array.from({ length: n }, (_, i) => {
    const v = Array.from({ length: dim }, rnd)
    const norm = Math.hypot(...v)
    const docId = randomUUID()
    return {
      id: docId,
      docId,
      text: `segment ${i} of ${datasetId.slice(0, 8)}\ttab\nnewline\r\n — ünïcode ✓ "quoted" 'single' \\ backslash \\N`,
      metadata: { doc_id: docId, doc_hash: `hash${i}`, document_id: docs[i % docs.length]!, dataset_id: datasetId },
      vector: v.map((x) => x / norm),
    }
  })
}

async function collect(store: VectorStore, t: VectorTarget, batchSize: number) {
  const out: VectorRecord[] = []
  let maxBatch = 0
  for await (const b of store.scan(t, { batchSize })) {
    maxBatch = Math.max(maxBatch, b.length)
    out.push(...b)
  }
  return { out, maxBatch }
}

/** The contract every vector store module passes, unchanged. */
export function vectorStoreContract(name: string, factory: () => Promise<ContractSubject>): void {
  describe(`vector store contract: ${name}`, () => {
    let s: ContractSubject
    beforeAll(async () => {
      s = await factory()
    })
    afterAll(async () => {
      await s?.close()
    })

    it('describe() names the store and its server version', async () => {
      const d = await s.store.describe()
      expect(d.type).toBe(s.store.type)
      expect(d.serverVersion).toMatch(/\d/)
    })

    it("ensureCollection creates Dify's exact layout, is idempotent and refuses another dimension", async () => {
      const t = s.newTarget()
      expect(await s.store.exists(t)).toBe(false)
      expect(await s.store.layout(t)).toBeNull()
      expect(await s.store.ensureCollection(t, DIM)).toBe('created')
      await s.store.upsert(t, difyRecords(1))
      expect(await s.store.exists(t)).toBe(true)
      expect(await s.store.ensureCollection(t, DIM)).toBe('exists')
      await expect(s.store.ensureCollection(t, DIM * 2)).rejects.toBeInstanceOf(ConfigError)
      const layout = await s.store.layout(t)
      expect(layout).not.toBeNull()
      expect(layout!.dimension).toBe(DIM)
      expect(layout!.name).toBe(s.store.physicalName(t))
      await s.expectDifyLayout(layout!, t, DIM)
      await s.store.deleteTarget(t)
    })

    it('round trip: write, count, scan back equal within float32, idempotent rewrite', async () => {
      const t = s.newTarget()
      const recs = difyRecords(150)
      await s.store.ensureCollection(t, DIM)
      for (let i = 0; i < recs.length; i += 40) await s.store.upsert(t, recs.slice(i, i + 40))
      expect(await s.store.count(t)).toBe(150)
      await s.store.upsert(t, recs.slice(0, 60)) // a retry never duplicates
      expect(await s.store.count(t)).toBe(150)
      // a batch mixing stored and new records: the stored one is replaced, the new one added
      const extra = difyRecords(2)
      const changed = { ...recs[0]!, text: `${recs[0]!.text} (edited)` }
      await s.store.upsert(t, [changed, ...extra])
      expect(await s.store.count(t)).toBe(152)
      await s.store.deleteByDocIds(
        t,
        extra.map((r) => r.docId),
      )
      await s.store.upsert(t, [recs[0]!])

      const { out, maxBatch } = await collect(s.store, t, 32)
      expect(maxBatch).toBeLessThanOrEqual(32)
      expect(out).toHaveLength(150)
      const byId = new Map(out.map((r) => [r.docId, r]))
      for (const r of recs) {
        const got = byId.get(r.docId)
        expect(got, r.docId).toBeDefined()
        expect(got!.text).toBe(r.text)
        expect(got!.metadata).toEqual(r.metadata)
        expect(got!.vector).toHaveLength(DIM)
        // float32 precision: exact for pgvector/Chroma/Weaviate; a server that renormalises (Qdrant, Cosine) may move the last bit
        got!.vector.forEach((x, i) => expect(Math.abs(x - Math.fround(r.vector[i]!))).toBeLessThanOrEqual(2 ** -23))
      }
      await s.store.deleteTarget(t)
    })

    it("search returns the nearest first with Dify's score, and honours the document filter", async () => {
      const t = s.newTarget()
      const recs = difyRecords(60)
      await s.store.ensureCollection(t, DIM)
      await s.store.upsert(t, recs)
      const probe = recs[17]!
      const hits = await s.store.search(t, probe.vector, 5)
      expect(hits).toHaveLength(5)
      expect(hits[0]!.docId).toBe(probe.docId)
      expect(hits[0]!.text).toBe(probe.text)
      expect(hits[0]!.score).toBeCloseTo(1, 5)
      expect(hits[0]!.metadata.score).toBe(hits[0]!.score)
      expect(hits[0]!.metadata.document_id).toBe(probe.metadata.document_id)
      for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score)

      const otherDoc = recs[18]!.metadata.document_id as string
      const filtered = await s.store.search(t, probe.vector, 5, { documentIds: [otherDoc] })
      expect(filtered.length).toBeGreaterThan(0)
      for (const h of filtered) expect(h.metadata.document_id).toBe(otherDoc)
      expect(filtered.map((h) => h.docId)).not.toContain(probe.docId)

      // Dify's score_threshold: nothing below it comes back; the exact match still does
      const strict = await s.store.search(t, probe.vector, 60, { scoreThreshold: 0.5 })
      expect(strict.length).toBeGreaterThan(0)
      expect(strict.length).toBeLessThan(60)
      expect(strict[0]!.docId).toBe(probe.docId)
      for (const h of strict) expect(h.score).toBeGreaterThanOrEqual(0.5)
      await s.store.deleteTarget(t)
    })

    it('deletes by doc ids and whole targets; a missing target is success; targets are isolated', async () => {
      const a = s.newTarget()
      const b = s.siblingTarget ? s.siblingTarget(a) : s.newTarget()
      const ra = difyRecords(30)
      const rb = difyRecords(20)
      await s.store.ensureCollection(a, DIM)
      await s.store.ensureCollection(b, DIM)
      await s.store.upsert(a, ra)
      await s.store.upsert(b, rb)
      expect(await s.store.count(a)).toBe(30)
      expect(await s.store.count(b)).toBe(20)

      await s.store.deleteByDocIds(
        a,
        ra.slice(0, 10).map((r) => r.docId),
      )
      expect(await s.store.count(a)).toBe(20)
      const { out } = await collect(s.store, a, 100)
      expect(out.map((r) => r.docId).sort()).toEqual(
        ra
          .slice(10)
          .map((r) => r.docId)
          .sort(),
      )

      await s.store.deleteTarget(a)
      expect(await s.store.exists(a)).toBe(false)
      expect(await s.store.count(a)).toBe(0)
      expect(await s.store.count(b)).toBe(20)
      await s.store.deleteTarget(a) // missing: success
      await s.store.deleteByDocIds(a, [randomUUID()])
      await s.store.deleteTarget(b)
    })

    it("clears Dify's vector_indexing_* Redis keys when a collection is created or dropped", async (ctx) => {
      if (!s.redis) return ctx.skip()
      const type = s.store.type
      // OpenSearch lower-cases whatever name it is given: exercise that with a mixed-case class_prefix
      const t =
        type === 'opensearch'
          ? { ...s.newTarget(), collection: `Vector_index_${randomUUID().replace(/-/g, '_')}_Node` }
          : s.newTarget()
      const { client, keyPrefix } = s.redis
      // Dify's literal key names (pgvector.py, opensearch_vector.py, elasticsearch_vector.py, the other store modules;
      // 1.11.0 – 1.15.0), written out here rather than taken from src/dify/keys.ts
      const name = type === 'opensearch' || type === 'elasticsearch' ? t.collection.toLowerCase() : t.collection
      const k1 = `${keyPrefix}vector_indexing_${name}`
      const k2 =
        type === 'pgvector'
          ? `${keyPrefix}vector_indexing_${t.collection}_lock`
          : `${keyPrefix}vector_indexing_lock_${name}`
      expect(keys.vectorIndexing(type, t.collection, keyPrefix)).toBe(k1)
      expect(keys.vectorIndexingLock(type, t.collection, keyPrefix)).toBe(k2)
      await client.set(k1, '1')
      await client.set(k2, 'x')
      await s.store.ensureCollection(t, DIM)
      expect(await client.exists(k1, k2)).toBe(0)
      await client.set(k1, '1')
      await s.store.deleteTarget(t)
      expect(await client.exists(k1)).toBe(0)
    })
  })
}
