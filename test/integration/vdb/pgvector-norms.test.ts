import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { genCollectionNameById } from '../../../src/dify/collections.js'
import { l2norm } from '../../../src/dify/embedding-cache.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorRecord, VectorStore, VectorTarget } from '../../../src/vector/store.js'
import { scratchPg, type Scratch } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { difyRecords } from '../vector/contract.js'
import { pgvectorAvailable, pgvectorVars } from '../../support/pgvector.js'
import { configFromVars } from '../../support/config.js'

/** The pgvector adapter's `scan({ normsOnly })` (what `vdb check` uses) against its full scan, on the real server. */
const available = await pgvectorAvailable()

async function collect(store: VectorStore, t: VectorTarget, opts: Parameters<VectorStore['scan']>[1]) {
  const out: VectorRecord[] = []
  let maxBatch = 0
  for await (const b of store.scan(t, opts)) {
    maxBatch = Math.max(maxBatch, b.length)
    out.push(...b)
  }
  return { out, maxBatch }
}

describe.skipIf(!available)('pgvector scan with normsOnly (real server)', () => {
  let db: Scratch
  let store: VectorStore
  const t: VectorTarget = { collection: genCollectionNameById(randomUUID()) }
  beforeAll(async () => {
    db = await scratchPg('vdbnorm')
    store = await openVectorStore(configFromVars({ VECTOR_STORE: 'pgvector', ...pgvectorVars(db.name) }))
  })
  afterAll(async () => {
    await store?.close()
    await db?.drop()
  })

  it('returns every record with its doc_id and the norm pgvector computes, and only the vectors asked for', async () => {
    const recs = difyRecords(70, 16)
    recs[3] = { ...recs[3]!, vector: recs[3]!.vector.map((x) => x * 2) } // off-norm
    recs[4] = { ...recs[4]!, vector: recs[4]!.vector.map((x) => x * 0.5) }
    await store.ensureCollection(t, 16)
    await store.upsert(t, recs)
    // a row whose metadata.doc_id is not a string: docId falls back to the id, as in the full scan
    const admin = new pg.Client({ ...PG, database: db.name })
    await admin.connect()
    await admin.query(`update ${store.physicalName(t)} set meta = jsonb_set(meta, '{doc_id}', '5') where id = $1`, [
      recs[5]!.docId,
    ])
    await admin.end()

    const full = await collect(store, t, { batchSize: 16 })
    const wanted = [recs[3]!.docId, recs[10]!.docId, randomUUID(), 'not-a-uuid']
    const lean = await collect(store, t, { batchSize: 16, normsOnly: { vectorsOf: wanted } })
    expect(lean.maxBatch).toBeLessThanOrEqual(16)
    expect(lean.out.map((r) => [r.id, r.docId])).toEqual(full.out.map((r) => [r.id, r.docId]))
    expect(lean.out.find((r) => r.id === recs[5]!.docId)!.docId).toBe(recs[5]!.docId)
    for (const [i, r] of lean.out.entries()) {
      expect(r.text).toBe('')
      expect(r.metadata).toEqual({})
      expect(r.norm).toBeCloseTo(l2norm(full.out[i]!.vector), 12)
      if (r.docId === recs[3]!.docId || r.docId === recs[10]!.docId) expect(r.vector).toEqual(full.out[i]!.vector)
      else expect(r.vector).toEqual([])
    }
    const byId = new Map(lean.out.map((r) => [r.docId, r]))
    expect(byId.get(recs[3]!.docId)!.norm).toBeCloseTo(2, 6)
    expect(byId.get(recs[4]!.docId)!.norm).toBeCloseTo(0.5, 6)
    expect(byId.get(recs[0]!.docId)!.norm).toBeCloseTo(1, 6)

    // no vectors asked for: none sent; one page or an empty collection behave as the full scan
    const none = await collect(store, t, { batchSize: 1000, normsOnly: {} })
    expect(none.out).toHaveLength(70)
    expect(none.out.every((r) => r.vector.length === 0 && typeof r.norm === 'number')).toBe(true)
    expect((await collect(store, { collection: genCollectionNameById(randomUUID()) }, { normsOnly: {} })).out).toEqual(
      [],
    )
  })
})
