import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { indexStructJson } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore } from '../../../src/vector/store.js'
import { startFakeWeaviate, type FakeWeaviate } from '../../support/fakes/weaviate.js'
import { runCli } from '../../support/cli.js'
import { loadOracleSchema } from '../../support/dify-schema.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { unitVector } from '../../support/vdb-seed.js'
import { DIM, dump, seedWorld, targetOf, type World } from '../../support/vdb-migrate-world.js'
import { pgvectorAvailable, pgvectorVars as pgvEnv } from '../../support/pgvector.js'
import { configFromVars as cfg } from '../../support/config.js'

/** FAKE Weaviate 1.27 (test/support/fakes/weaviate.ts, validated against the published OpenAPI document). */
const pgvectorUp = await pgvectorAvailable()

describe.skipIf(!pgvectorUp)('vdb-migrate pgvector → Weaviate (fake): uuid5(text) ids collapse equal texts', () => {
  let a: Scratch
  let redis: ScratchRedis
  let fake: FakeWeaviate
  let c: pg.Client
  let src: VectorStore
  let wv: VectorStore
  let w: World
  let dup: string
  beforeAll(async () => {
    a = await scratchPg('vdbmigw')
    loadOracleSchema(a.name, '788d3099ae3a')
    redis = await scratchRedis('vdbmigw')
    fake = await startFakeWeaviate({})
    c = new pg.Client({ ...PG, database: a.name })
    await c.connect()
    src = await openVectorStore(cfg({ VECTOR_STORE: 'pgvector', ...pgvEnv(a.name) }))
    wv = await openVectorStore(cfg({ VECTOR_STORE: 'weaviate', WEAVIATE_ENDPOINT: fake.url }))
    w = await seedWorld(c, src, 'pgvector')
    // a second live segment with the text of an existing one
    const doc = (
      await c.query(
        `select id from documents where dataset_id = $1 and doc_form = 'text_model' and enabled and not archived limit 1`,
        [w.ids.text],
      )
    ).rows[0].id
    const text = `text segment 0 of ${w.ids.text}`
    const seg = await w.seeder.segment(w.ids.text, doc, text)
    dup = seg.nodeId
    w.live.get(w.ids.text)!.push(dup)
    await src.upsert(w.sourceTargets.get(w.ids.text)!, [
      {
        id: dup,
        docId: dup,
        text,
        metadata: { doc_id: dup, document_id: doc, dataset_id: w.ids.text },
        vector: unitVector(text, DIM),
      },
    ])
  })
  afterAll(async () => {
    await src?.close()
    await wv?.close()
    await fake?.close()
    await c?.end()
    await a?.drop()
    await redis?.drop()
  })

  it('verifies one object per distinct text, reports the collapsed doc_id, and switches', async () => {
    const env = { ...a.env, ...redis.env, VECTOR_STORE: 'weaviate', WEAVIATE_ENDPOINT: fake.url, ...pgvEnv(a.name) }
    const r = await runCli(
      ['vdb-migrate', '--json', '--scope', 'knowledge', '--dataset', w.ids.text, '--dataset', w.ids.pc],
      { env, timeoutMs: 120_000 },
    )
    expect(r.code, r.stderr + r.stdout).toBe(0)
    const u = r.json.units.find((x: { id: string }) => x.id === w.ids.text)
    expect(u).toMatchObject({ outcome: 'migrated', live: 8, duplicates: 1, switched: true })
    expect(u.warnings.join(' ')).toMatch(/collapse into one Weaviate object/)
    const got = await dump(wv, targetOf('weaviate', w.ids.text))
    expect(got.size).toBe(7)
    const is = (await c.query(`select index_struct from datasets where id = $1`, [w.ids.pc])).rows[0].index_struct
    expect(is).toBe(indexStructJson('weaviate', `Vector_index_${w.ids.pc.replace(/-/g, '_')}_Node`))
    expect([...(await dump(wv, targetOf('weaviate', w.ids.pc))).keys()].sort()).toEqual(
      [...w.live.get(w.ids.pc)!].sort(),
    )
  })
})
