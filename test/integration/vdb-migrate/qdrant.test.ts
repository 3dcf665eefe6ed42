import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomUUID } from 'node:crypto'
import { genCollectionNameById, indexStructJson } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore } from '../../../src/vector/store.js'
import { startFakeQdrant, type FakeQdrant } from '../../support/fakes/qdrant.js'
import { runCli } from '../../support/cli.js'
import { loadOracleSchema } from '../../support/dify-schema.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { DIM, dump, seedWorld, targetOf, type World } from '../../support/vdb-migrate-world.js'
import { DifySeeder, unitVector } from '../../support/vdb-seed.js'
import { pgvectorAvailable, pgvectorVars as pgvEnv } from '../../support/pgvector.js'
import { configFromVars as cfg } from '../../support/config.js'

/** FAKE Qdrant (test/support/fakes/qdrant.ts validates every request against Qdrant 1.8's OpenAPI document). */
const pgvectorUp = await pgvectorAvailable()

describe.skipIf(!pgvectorUp)('vdb-migrate pgvector → Qdrant (fake) → pgvector', () => {
  let a: Scratch
  let b: Scratch
  let redis: ScratchRedis
  let fake: FakeQdrant
  let c: pg.Client
  let src: VectorStore
  let q: VectorStore
  let back: VectorStore
  let w: World
  let binding: string
  beforeAll(async () => {
    a = await scratchPg('vdbmigqa')
    b = await scratchPg('vdbmigqb')
    loadOracleSchema(a.name, '788d3099ae3a')
    redis = await scratchRedis('vdbmigq')
    fake = await startFakeQdrant({})
    c = new pg.Client({ ...PG, database: a.name })
    await c.connect()
    src = await openVectorStore(cfg({ VECTOR_STORE: 'pgvector', ...pgvEnv(a.name) }))
    q = await openVectorStore(cfg({ VECTOR_STORE: 'qdrant', QDRANT_URL: fake.url }))
    back = await openVectorStore(cfg({ VECTOR_STORE: 'pgvector', ...pgvEnv(b.name) }))
    w = await seedWorld(c, src, 'pgvector')
    binding = (
      await c.query(
        `select b.collection_name from datasets d join dataset_collection_bindings b on b.id = d.collection_binding_id where d.id = $1`,
        [w.ids.text],
      )
    ).rows[0].collection_name
  })
  afterAll(async () => {
    await src?.close()
    await q?.close()
    await back?.close()
    await fake?.close()
    await c?.end()
    await a?.drop()
    await b?.drop()
    await redis?.drop()
  })

  it('writes every dataset into the shared binding collection, one group per dataset, and switches index_struct', async () => {
    const env = { ...a.env, ...redis.env, VECTOR_STORE: 'qdrant', QDRANT_URL: fake.url, ...pgvEnv(a.name) }
    const r = await runCli(['vdb-migrate', '--json', '--scope', 'knowledge'], { env, timeoutMs: 120_000 })
    expect(r.code, r.stderr).toBe(7)
    for (const k of ['text', 'pc', 'mm'] as const) {
      const t = { collection: binding, groupId: w.ids[k] }
      expect([...(await dump(q, t)).keys()].sort()).toEqual([...w.live.get(w.ids[k])!].sort())
      const is = (await c.query(`select index_struct from datasets where id = $1`, [w.ids[k]])).rows[0].index_struct
      expect(is).toBe(indexStructJson('qdrant', binding))
    }
    expect([...fake.collections.keys()]).toEqual([binding])
  })

  it('a dataset without collection_binding_id goes to gen_collection_name_by_id (Dify); a dangling binding id fails the unit', async () => {
    const s = new DifySeeder(c)
    const seed = async (bindingId: string | null) => {
      const id = randomUUID()
      const coll = genCollectionNameById(id)
      await s.dataset({ id, indexStruct: indexStructJson('pgvector', coll), bindingId })
      const doc = await s.document(id)
      const ids: string[] = []
      for (let i = 0; i < 3; i++) {
        const text = `unbound ${i} of ${id}`
        const seg = await s.segment(id, doc, text)
        ids.push(seg.nodeId)
        await src.ensureCollection({ collection: coll }, DIM)
        await src.upsert({ collection: coll }, [
          {
            id: seg.nodeId,
            docId: seg.nodeId,
            text,
            metadata: { doc_id: seg.nodeId, document_id: doc, dataset_id: id },
            vector: unitVector(text, DIM),
          },
        ])
      }
      return { id, coll, ids }
    }
    const unbound = await seed(null)
    const dangling = await seed(randomUUID())
    const key = `${redis.prefix}vector_indexing_${unbound.coll}`
    await redis.client.set(key, '1')
    const env = { ...a.env, ...redis.env, VECTOR_STORE: 'qdrant', QDRANT_URL: fake.url, ...pgvEnv(a.name) }
    const r = await runCli(
      ['vdb-migrate', '--json', '--scope', 'knowledge', '--dataset', unbound.id, '--dataset', dangling.id],
      { env, timeoutMs: 120_000 },
    )
    expect(r.code, r.stderr).toBe(7)
    const byId = Object.fromEntries((r.json.units as Array<{ id: string }>).map((u) => [u.id, u]))
    expect(byId[unbound.id]).toMatchObject({
      outcome: 'migrated',
      fromSource: 3,
      switched: true,
      target: { type: 'qdrant', collection: unbound.coll },
    })
    expect([...(await dump(q, { collection: unbound.coll, groupId: unbound.id })).keys()].sort()).toEqual(
      [...unbound.ids].sort(),
    )
    expect((await c.query(`select index_struct from datasets where id = $1`, [unbound.id])).rows[0].index_struct).toBe(
      indexStructJson('qdrant', unbound.coll),
    )
    expect(await redis.client.exists(key)).toBe(0)
    expect(byId[dangling.id]).toMatchObject({ outcome: 'failed', switched: false })
    expect((byId[dangling.id] as unknown as { reason: string }).reason).toMatch(/Dataset Collection Binding not found/)
    expect((await c.query(`select index_struct from datasets where id = $1`, [dangling.id])).rows[0].index_struct).toBe(
      indexStructJson('pgvector', dangling.coll),
    )
    // vdb check looks where Dify's Qdrant factory looks for the unbound one (index_struct's class_prefix, group = dataset)
    const chk = await runCli(['vdb', 'check', '--json', '--dataset', unbound.id, '--sample', '0'], {
      env,
      timeoutMs: 60_000,
    })
    expect(chk.code, chk.stderr).toBe(0)
    expect(chk.json.targets[0]).toMatchObject({
      status: 'consistent',
      store: { type: 'qdrant', collection: unbound.coll, groupId: unbound.id },
    })
    // the dangling binding: vdb check says what vdb-migrate says (Dify cannot open it), exit 7, nothing compared
    await c.query(`update datasets set index_struct = $2 where id = $1`, [
      dangling.id,
      indexStructJson('qdrant', dangling.coll),
    ])
    const bad = await runCli(['vdb', 'check', '--json', '--dataset', dangling.id, '--sample', '0'], {
      env,
      timeoutMs: 60_000,
    })
    expect(bad.code, bad.stderr).toBe(7)
    expect(bad.json.targets[0]).toMatchObject({ status: 'unreachable', stored: null })
    expect(bad.json.targets[0].error).toMatch(/Dataset Collection Binding not found/)
  })

  it('reads them back from Qdrant (group filter) into pgvector', async () => {
    const env = { ...a.env, ...redis.env, VECTOR_STORE: 'pgvector', QDRANT_URL: fake.url, ...pgvEnv(b.name) }
    const r = await runCli(
      ['vdb-migrate', '--json', '--scope', 'knowledge', '--dataset', w.ids.text, '--dataset', w.ids.pc],
      { env, timeoutMs: 120_000 },
    )
    expect(r.code, r.stderr + r.stdout).toBe(0)
    for (const k of ['text', 'pc'] as const) {
      expect([...(await dump(back, targetOf('pgvector', w.ids[k]))).keys()].sort()).toEqual(
        [...w.live.get(w.ids[k])!].sort(),
      )
    }
    expect(r.json.units.find((u: { id: string }) => u.id === w.ids.text)).toMatchObject({
      outcome: 'migrated',
      fromSource: 7,
      orphans: 0,
    })
  })
})
