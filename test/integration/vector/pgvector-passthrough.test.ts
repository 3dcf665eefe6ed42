import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { genCollectionNameById, pgvectorPhysicalTable } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import { vectorDimension, type VectorRecord, type VectorStore, type VectorTarget } from '../../../src/vector/store.js'
import { parseCopyRows } from '../../../src/vector/stores/pgvector.js'
import { scratchPg, type Scratch } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { unitVector } from '../../support/vdb-seed.js'
import { pgvectorAvailable, pgvectorVars } from '../../support/pgvector.js'
import { configFromVars } from '../../support/config.js'

const available = await pgvectorAvailable()

const DIM = 12
const N = 25

/** pgvector → pgvector without decoding: the scan's `pgvectorSend` bytes go into the binary COPY untouched. */
describe.skipIf(!available)('pgvector pass-through of vector_send bytes (real server)', () => {
  let db: Scratch
  let c: pg.Client
  let store: VectorStore
  const A: VectorTarget = { collection: genCollectionNameById(randomUUID()) }
  const B: VectorTarget = { collection: genCollectionNameById(randomUUID()) }
  const input: VectorRecord[] = []
  beforeAll(async () => {
    db = await scratchPg('vecpgpass')
    c = new pg.Client({ ...PG, database: db.name })
    await c.connect()
    store = await openVectorStore(configFromVars({ VECTOR_STORE: 'pgvector', ...pgvectorVars(db.name) }))
    for (let i = 0; i < N; i++) {
      const id = randomUUID()
      input.push({
        id,
        docId: id,
        text: `passé ${i} ✓`,
        metadata: { doc_id: id, n: i, nested: { a: [1, 'x'] } },
        vector: unitVector(`p${i}`, DIM),
      })
    }
    await store.ensureCollection(A, DIM)
    await store.upsert(A, input)
  })
  afterAll(async () => {
    await store?.close()
    await c?.end()
    await db?.drop()
  })

  const scanAll = async (t: VectorTarget, batchSize: number) => {
    const out: VectorRecord[] = []
    for await (const b of store.scan(t, { batchSize })) out.push(...b)
    return out
  }

  it('the scan carries vector_send bytes (not enumerable), decodes `vector` lazily, pages without gaps', async () => {
    const got = await scanAll(A, 7)
    expect(got.map((r) => r.docId).sort()).toEqual(input.map((r) => r.docId).sort())
    const sends = new Map(
      (
        await c.query(`select id::text as id, vector_send(embedding) as v from ${pgvectorPhysicalTable(A.collection)}`)
      ).rows.map((r) => [r.id, r.v as Buffer]),
    )
    for (const r of got) {
      expect(Object.keys(r).sort()).toEqual(['docId', 'id', 'metadata', 'text', 'vector'])
      expect(r.pgvectorSend!.equals(sends.get(r.id)!)).toBe(true)
      expect(vectorDimension(r)).toBe(DIM)
      const src = input.find((x) => x.docId === r.docId)!
      expect(r.text).toBe(src.text)
      expect(r.metadata).toEqual(src.metadata)
      expect(r.vector).toEqual(src.vector.map(Math.fround))
    }
  })

  it('an upsert of scanned records writes the very same bytes; an assigned or copied vector is written as given', async () => {
    const got = await scanAll(A, 10)
    got[0]!.vector = unitVector('replaced', DIM) // drops the bytes
    expect(got[0]!.pgvectorSend).toBeUndefined()
    const copied = { ...got[1]! } // a copy reads `vector` and leaves the bytes behind
    expect(copied.pgvectorSend).toBeUndefined()
    await store.ensureCollection(B, DIM)
    await store.upsert(B, [copied, ...got.slice(2)])
    await store.upsert(B, [got[0]!]) // and through the staged ON CONFLICT path: a retry of a written batch
    await store.upsert(B, got.slice(2, 5))
    const diff = await c.query(
      `select a.id::text as id from ${pgvectorPhysicalTable(A.collection)} a full join ${pgvectorPhysicalTable(B.collection)} b using (id)
        where a.embedding is distinct from b.embedding or a.text is distinct from b.text or a.meta is distinct from b.meta`,
    )
    expect(diff.rows.map((r) => r.id)).toEqual([got[0]!.id])
    const [r0] = (await scanAll(B, 100)).filter((r) => r.id === got[0]!.id)
    expect(r0!.vector).toEqual(unitVector('replaced', DIM).map(Math.fround))
    expect(await store.count(B)).toBe(N)
  })

  it('an empty table scans to nothing; an empty COPY output parses to no rows', async () => {
    await store.deleteByDocIds(
      B,
      input.map((r) => r.docId),
    )
    expect(await scanAll(B, 5)).toEqual([])
    expect(parseCopyRows(Buffer.alloc(0))).toEqual([])
  })
})
