import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { indexStructJson } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore } from '../../../src/vector/store.js'
import { startFakeQdrant, type FakeQdrant } from '../../support/fakes/qdrant.js'
import { runCli } from '../../support/cli.js'
import { loadOracleSchema } from '../../support/dify-schema.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { dump, seedWorld, targetOf, type World } from '../../support/vdb-migrate-world.js'
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
    binding = (await c.query(`select b.collection_name from datasets d join dataset_collection_bindings b on b.id = d.collection_binding_id where d.id = $1`, [w.ids.text])).rows[0].collection_name
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

  it('reads them back from Qdrant (group filter) into pgvector', async () => {
    const env = { ...a.env, ...redis.env, VECTOR_STORE: 'pgvector', QDRANT_URL: fake.url, ...pgvEnv(b.name) }
    const r = await runCli(['vdb-migrate', '--json', '--scope', 'knowledge', '--dataset', w.ids.text, '--dataset', w.ids.pc], { env, timeoutMs: 120_000 })
    expect(r.code, r.stderr + r.stdout).toBe(0)
    for (const k of ['text', 'pc'] as const) {
      expect([...(await dump(back, targetOf('pgvector', w.ids[k]))).keys()].sort()).toEqual([...w.live.get(w.ids[k])!].sort())
    }
    expect(r.json.units.find((u: { id: string }) => u.id === w.ids.text)).toMatchObject({ outcome: 'migrated', fromSource: 7, orphans: 0 })
  })
})
