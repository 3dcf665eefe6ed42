import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { genCollectionNameById, pgvectorHnswIndexName, pgvectorPhysicalTable } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorTarget } from '../../../src/vector/store.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { difyRecords, vectorStoreContract } from './contract.js'
import { configFromVars } from '../../support/config.js'
import { pgvectorAvailable, pgvectorVars } from '../../support/pgvector.js'

/** Real server: the local PostgreSQL 15 with native pgvector (scripts/services/pgvector.sh). */

const available = await pgvectorAvailable()
if (!available) console.warn('SKIPPED: pgvector is not installed on 127.0.0.1:5432; run scripts/services/pgvector.sh')

function configFor(db: Scratch) {
  return configFromVars({ VECTOR_STORE: 'pgvector', ...pgvectorVars(db.name) })
}

describe.skipIf(!available)('pgvector (real server)', () => {
  let db: Scratch
  let redis: ScratchRedis
  const dbReady = (async () => {
    db = await scratchPg('vecpg')
    redis = await scratchRedis('vecpg')
  })()
  afterAll(async () => {
    await dbReady
    await db.drop()
    await redis.drop()
  })

  vectorStoreContract('pgvector', async () => {
    await dbReady
    const store = await openVectorStore(configFor(db), { redis: { client: redis.client, keyPrefix: redis.prefix } })
    const admin = new pg.Client({ ...PG, database: db.name })
    await admin.connect()
    return {
      store,
      redis: { client: redis.client, keyPrefix: redis.prefix },
      newTarget: () => ({ collection: genCollectionNameById(randomUUID()) }),
      async expectDifyLayout(layout, t, dim) {
        // the table name Dify's unquoted SQL produces: lower-cased and truncated to 63 bytes (ends in _nod)
        expect(layout.name).toBe(`embedding_${t.collection.toLowerCase()}`.slice(0, 63))
        expect(layout.name).toMatch(/^embedding_vector_index_[0-9a-f_]{36}_nod$/)
        expect(layout.metric).toBe('cosine')
        expect(layout.details.accessMethod).toBe('heap')
        expect(layout.details.columns).toEqual([
          { name: 'id', type: 'uuid', notNull: true },
          { name: 'text', type: 'text', notNull: true },
          { name: 'meta', type: 'jsonb', notNull: true },
          { name: 'embedding', type: `vector(${dim})`, notNull: true },
        ])
        const idx = layout.details.indexes as Array<{
          name: string
          method: string
          opclasses: string[]
          options: string[] | null
          primary: boolean
        }>
        expect(idx).toHaveLength(2)
        const hnsw = idx.find((i) => i.method === 'hnsw')!
        expect(hnsw.name).toBe(pgvectorHnswIndexName(t.collection))
        expect(hnsw.opclasses).toEqual(['vector_cosine_ops'])
        expect(hnsw.options).toEqual(['m=16', 'ef_construction=64'])
        const pk = idx.find((i) => i.primary)!
        // PostgreSQL shortens the table part so "<table>_pkey" fits 63 bytes (ChooseRelationName), as for Dify
        expect(pk.name).toBe(`${layout.name.slice(0, 63 - 5)}_pkey`)
        // and Dify's own (unquoted) statements find the same table
        const r = await admin.query(`select count(*)::int as n from embedding_${t.collection}`)
        expect(r.rows[0].n).toBeGreaterThanOrEqual(0)
      },
      async close() {
        await store.close()
        await admin.end()
      },
    }
  })

  describe('pgvector specifics', () => {
    let admin: pg.Client
    beforeAll(async () => {
      await dbReady
      admin = new pg.Client({ ...PG, database: db.name })
      await admin.connect()
    })
    afterAll(async () => {
      await admin.end()
    })

    it("reads a table written by Dify's own SQL (plain INSERT of json text and vector text)", async () => {
      const store = await openVectorStore(configFor(db))
      const t: VectorTarget = { collection: genCollectionNameById(randomUUID()) }
      await admin.query(`create extension if not exists vector`)
      await admin.query(
        `create table if not exists embedding_${t.collection} (id uuid primary key, text text not null, meta jsonb not null, embedding vector(3) not null) using heap`,
      )
      const id = randomUUID()
      await admin.query(`insert into embedding_${t.collection} (id, text, meta, embedding) values ($1, $2, $3, $4)`, [
        id,
        'hello',
        JSON.stringify({ doc_id: id, doc_hash: 'h', document_id: 'd', dataset_id: 'x' }),
        '[0.1, 0.2, 0.3]',
      ])
      const batches = []
      for await (const b of store.scan(t)) batches.push(...b)
      expect(batches).toEqual([
        {
          id,
          docId: id,
          text: 'hello',
          metadata: { doc_id: id, doc_hash: 'h', document_id: 'd', dataset_id: 'x' },
          vector: [0.1, 0.2, 0.3].map(Math.fround),
        },
      ])
      await store.deleteTarget(t)
      await store.close()
    })

    it('large batches (several COPY chunks) write, and rewrite through the conflict path, at dimension 1536', async () => {
      const store = await openVectorStore(configFor(db))
      const t: VectorTarget = { collection: genCollectionNameById(randomUUID()) }
      const recs = difyRecords(150, 1536)
      await store.ensureCollection(t, 1536)
      await store.upsert(t, recs)
      await store.upsert(
        t,
        recs.map((r) => ({ ...r, text: `${r.text}!` })),
      )
      expect(await store.count(t)).toBe(150)
      let n = 0
      for await (const b of store.scan(t, { batchSize: 64 })) {
        for (const r of b) expect(r.text.endsWith('!')).toBe(true)
        n += b.length
      }
      expect(n).toBe(150)
      await store.deleteTarget(t)
      await store.close()
    })

    it('bulk load defers the HNSW index and finishBulkLoad builds exactly the same one; no index above 2000 dims', async () => {
      const store = await openVectorStore(configFor(db))
      const t: VectorTarget = { collection: genCollectionNameById(randomUUID()) }
      await store.ensureCollection(t, 8, { deferIndex: true })
      let l = await store.layout(t)
      expect((l!.details.indexes as unknown[]).length).toBe(1)
      await store.upsert(t, difyRecords(20))
      await store.finishBulkLoad(t)
      l = await store.layout(t)
      const names = (l!.details.indexes as Array<{ name: string }>).map((i) => i.name)
      expect(names).toContain(pgvectorHnswIndexName(t.collection))
      await store.deleteTarget(t)

      const big: VectorTarget = { collection: genCollectionNameById(randomUUID()) }
      await store.ensureCollection(big, 2001)
      l = await store.layout(big)
      expect((l!.details.indexes as unknown[]).length).toBe(1) // primary key only, as Dify
      expect(l!.name).toBe(pgvectorPhysicalTable(big.collection))
      await store.deleteTarget(big)
      await store.close()
    })
  })
})
