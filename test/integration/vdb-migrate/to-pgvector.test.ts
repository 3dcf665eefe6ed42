import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { indexStructJson } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore } from '../../../src/vector/store.js'
import { runCli } from '../../support/cli.js'
import { loadOracleSchema } from '../../support/dify-schema.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { unitVector } from '../../support/vdb-seed.js'
import { DIM, dump, nearestLive, seedWorld, targetOf, type World } from '../../support/vdb-migrate-world.js'
import { pgvectorAvailable, pgvectorVars as pgvEnv, writeEnvFile } from '../../support/pgvector.js'
import { configFromVars as cfg } from '../../support/config.js'
import { chromaAvailable, chromaVars, migrateBed, type MigrateBed } from '../../support/vdb-migrate-bed.js'

const chromaUp = await chromaAvailable()
const pgvectorUp = await pgvectorAvailable()

const chromaEnv = chromaVars
const MIGRATED = ['text', 'pc', 'mm', 'app'] as const

async function checkTarget(w: World, dst: VectorStore, type: string) {
  for (const k of MIGRATED) {
    const got = await dump(dst, targetOf(type, w.ids[k]))
    expect([...got.keys()].sort(), k).toEqual([...w.live.get(w.ids[k])!].sort())
  }
}

describe.skipIf(!chromaUp || !pgvectorUp)('vdb-migrate Chroma → pgvector (real stores, CLI)', () => {
  let db: Scratch
  let redis: ScratchRedis
  let c: pg.Client
  let src: VectorStore
  let dst: VectorStore
  let w: World
  beforeAll(async () => {
    db = await scratchPg('vdbmigc2p')
    loadOracleSchema(db.name, '788d3099ae3a')
    redis = await scratchRedis('vdbmigc2p')
    c = new pg.Client({ ...PG, database: db.name })
    await c.connect()
    src = await openVectorStore(cfg({ VECTOR_STORE: 'chroma', ...chromaEnv }))
    dst = await openVectorStore(cfg({ VECTOR_STORE: 'pgvector', ...pgvEnv(db.name) }))
    w = await seedWorld(c, src, 'chroma', { annotationsInSource: true })
  })
  afterAll(async () => {
    for (const t of w?.sourceTargets.values() ?? []) await src?.deleteTarget(t).catch(() => {})
    await src?.close()
    await dst?.close()
    await c?.end()
    await db?.drop()
    await redis?.drop()
  })

  it("copies the live set into Dify's pgvector tables (with the HNSW index) and switches index_struct", async () => {
    const q = unitVector(`child 1 of ${w.ids.pc}`, DIM)
    const expected = await nearestLive(src, w.sourceTargets.get(w.ids.pc)!, q, new Set(w.live.get(w.ids.pc)), 3)
    const env = { ...db.env, ...redis.env, VECTOR_STORE: 'pgvector', ...pgvEnv(db.name), ...chromaEnv }
    const r = await runCli(['vdb-migrate', '--json', '--scope', 'knowledge'], { env, timeoutMs: 120_000 })
    expect(r.code, r.stderr).toBe(7)
    const byId = new Map((r.json.units as Array<{ id: string }>).map((u) => [u.id, u as any]))
    expect(byId.get(w.ids.text)).toMatchObject({
      outcome: 'migrated',
      fromSource: 6,
      fromCache: 1,
      orphans: 3,
      verified: true,
      switched: true,
    })
    expect(byId.get(w.ids.gap).outcome).toBe('incomplete')
    expect(byId.has(w.ids.app)).toBe(false)
    for (const k of ['text', 'pc', 'mm'] as const) {
      const got = await dump(dst, targetOf('pgvector', w.ids[k]))
      expect([...got.keys()].sort()).toEqual([...w.live.get(w.ids[k])!].sort())
    }
    const layout = await dst.layout(targetOf('pgvector', w.ids.text))
    expect((layout!.details.indexes as Array<{ method: string }>).some((i) => i.method === 'hnsw')).toBe(true)
    const hits = await dst.search(targetOf('pgvector', w.ids.pc), q, 3)
    expect(hits.map((h) => h.docId)).toEqual(expected)
    const is = (await c.query(`select index_struct from datasets where id = $1`, [w.ids.pc])).rows[0].index_struct
    expect(is).toBe(indexStructJson('pgvector', `Vector_index_${w.ids.pc.replace(/-/g, '_')}_Node`))
  })

  it('annotations with --from chroma come from the old store', async () => {
    const env = { ...db.env, ...redis.env, VECTOR_STORE: 'pgvector', ...pgvEnv(db.name), ...chromaEnv }
    const r = await runCli(['vdb-migrate', '--json', '--scope', 'annotation', '--from', 'chroma'], {
      env,
      timeoutMs: 120_000,
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.units[0]).toMatchObject({ kind: 'annotation', outcome: 'migrated', fromSource: 2, fromCache: 0 })
    const got = await dump(dst, targetOf('pgvector', w.ids.app))
    for (const rec of got.values())
      expect(Object.keys(rec.metadata).sort()).toEqual(['annotation_id', 'app_id', 'doc_id'])
  })
})

describe.skipIf(!pgvectorUp)(
  'vdb-migrate pgvector (database A) → pgvector (database B) with --from and --source-env-file',
  () => {
    let bed: MigrateBed
    let a: Scratch
    let c: pg.Client
    let src: VectorStore
    let dst: VectorStore
    let w: World
    let env: Record<string, string>
    let srcEnvFile: string
    beforeAll(async () => {
      bed = await migrateBed('vdbmiga', 'pgvector')
      ;({ db: a, c, src, dst, env } = bed)
      w = await seedWorld(c, src, 'pgvector', { annotationsInSource: true })
      srcEnvFile = writeEnvFile(pgvEnv(a.name), 'vdbmig')
    })
    afterAll(async () => {
      await bed?.close()
    })

    it('refuses to copy a collection onto itself without --from', async () => {
      const same = { ...env, ...pgvEnv(a.name) }
      const r = await runCli(['vdb-migrate', '--json', '--dry-run', '--from', 'pgvector'], {
        env: same,
        timeoutMs: 60_000,
      })
      expect(r.json.units.find((u: { id: string }) => u.id === w.ids.text)).toMatchObject({
        outcome: 'failed',
        reason: expect.stringMatching(/same collection/),
      })
    })

    it('copies into the other database, keeps index_struct (same store type and name), deletes the source on request', async () => {
      const r = await runCli(
        [
          'vdb-migrate',
          '--json',
          '--from',
          'pgvector',
          '--source-env-file',
          srcEnvFile,
          '--delete-source',
          '--yes',
          '--batch-size',
          '2',
        ],
        { env, timeoutMs: 120_000 },
      )
      expect(r.code, r.stderr).toBe(7)
      const byId = new Map((r.json.units as Array<{ id: string }>).map((u) => [u.id, u as any]))
      for (const k of MIGRATED)
        expect(byId.get(w.ids[k]), k).toMatchObject({ outcome: 'migrated', sourceDeleted: true })
      expect(byId.get(w.ids.app)).toMatchObject({ fromSource: 2 })
      expect(byId.get(w.ids.gap)).toMatchObject({ outcome: 'incomplete', sourceDeleted: false })
      await checkTarget(w, dst, 'pgvector')
      for (const k of MIGRATED) expect(await src.exists(w.sourceTargets.get(w.ids[k])!)).toBe(false)
      expect(await src.exists(w.sourceTargets.get(w.ids.gap)!)).toBe(true)
      const is = (await c.query(`select index_struct from datasets where id = $1`, [w.ids.text])).rows[0].index_struct
      expect(is).toBe(w.indexStructs.get(w.ids.text))
      // rerun: done datasets are skipped by their checkpoint; the annotation app is exact on the target
      const r2 = await runCli(['vdb-migrate', '--json', '--from', 'pgvector', '--source-env-file', srcEnvFile], {
        env,
        timeoutMs: 120_000,
      })
      const by2 = new Map((r2.json.units as Array<{ id: string }>).map((u) => [u.id, u as any]))
      expect(by2.get(w.ids.text).outcome).toBe('skipped')
      expect(by2.get(w.ids.app).outcome).toBe('skipped')
    })
  },
)
