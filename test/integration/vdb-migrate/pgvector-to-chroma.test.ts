import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { indexStructJson } from '../../../src/dify/collections.js'
import { keys } from '../../../src/dify/keys.js'
import type { VectorStore } from '../../../src/vector/store.js'
import { runCli } from '../../support/cli.js'
import type { ScratchRedis } from '../../support/scratch.js'
import { unitVector } from '../../support/vdb-seed.js'
import { DIM, dump, nearestLive, seedWorld, targetOf, type World } from '../../support/vdb-migrate-world.js'
import { pgvectorAvailable } from '../../support/pgvector.js'
import { chromaAvailable, migrateBed, type MigrateBed } from '../../support/vdb-migrate-bed.js'

const chromaUp = await chromaAvailable()
const pgvectorUp = await pgvectorAvailable()

describe.skipIf(!chromaUp || !pgvectorUp)('vdb-migrate pgvector → Chroma (real stores, CLI)', () => {
  let bed: MigrateBed
  let redis: ScratchRedis
  let c: pg.Client
  let src: VectorStore
  let dst: VectorStore
  let w: World
  let env: Record<string, string>

  beforeAll(async () => {
    bed = await migrateBed('vdbmig', 'chroma')
    ;({ redis, c, src, dst, env } = bed)
    w = await seedWorld(c, src, 'pgvector')
  })
  afterAll(async () => {
    for (const id of Object.values(w?.ids ?? {})) await dst?.deleteTarget(targetOf('chroma', id)).catch(() => {})
    await bed?.close()
  })

  async function snapshot() {
    const tables = ['datasets', 'documents', 'document_segments', 'child_chunks', 'embeddings', 'message_annotations']
    const rows: Record<string, unknown> = {}
    for (const t of tables)
      rows[t] = (await c.query(`select md5(string_agg(x::text, ',' order by x::text)) as h from ${t} x`)).rows[0].h
    rows.pgTables = (
      await c.query(
        `select string_agg(tablename, ',' order by tablename) as t from pg_tables where schemaname = 'public'`,
      )
    ).rows[0].t
    const redisKeys: string[] = []
    let cur = '0'
    do {
      const [n, ks] = await redis.client.scan(cur, 'MATCH', `${redis.prefix}*`, 'COUNT', 1000)
      cur = n
      redisKeys.push(...ks)
    } while (cur !== '0')
    rows.redis = redisKeys.sort()
    const srcCounts: Record<string, number> = {}
    for (const [id, t] of w.sourceTargets) srcCounts[id] = await src.count(t)
    rows.src = srcCounts
    const dstExists: Record<string, boolean> = {}
    for (const id of Object.values(w.ids)) dstExists[id] = await dst.exists(targetOf('chroma', id))
    rows.dst = dstExists
    return rows
  }

  it('--dry-run plans from the source and the cache and writes nothing anywhere', async () => {
    await redis.client.set(keys.vectorIndexing('chroma', targetOf('chroma', w.ids.text).collection, redis.prefix), '1')
    const before = await snapshot()
    const r = await runCli(['vdb-migrate', '--dry-run', '--json'], { env, timeoutMs: 120_000 })
    expect(r.code, r.stderr + r.stdout).toBe(0)
    const byId = new Map((r.json.units as Array<{ id: string }>).map((u) => [u.id, u as any]))
    expect(byId.get(w.ids.text)).toMatchObject({
      outcome: 'planned',
      live: 7,
      fromSource: 6,
      fromCache: 1,
      missing: 0,
      orphans: 3,
    })
    expect(byId.get(w.ids.pc)).toMatchObject({ outcome: 'planned', live: 3, fromSource: 3, orphans: 1 })
    expect(byId.get(w.ids.gap)).toMatchObject({ outcome: 'planned', missing: 1 })
    expect(byId.get(w.ids.app)).toMatchObject({ outcome: 'planned', live: 2, fromSource: 0, fromCache: 2 })
    expect(byId.has(w.ids.economy)).toBe(false)
    expect(await snapshot()).toEqual(before)
  })

  it('migrates: live vectors from the store, the cache fills the gap, metadata as stored, index_struct switched, keys cleared', async () => {
    const q = unitVector(`text segment 2 of ${w.ids.text}`, DIM)
    const liveText = new Set(w.live.get(w.ids.text))
    const expectedNeighbours = await nearestLive(src, w.sourceTargets.get(w.ids.text)!, q, liveText, 4)
    const srcBefore = await dump(src, w.sourceTargets.get(w.ids.text)!)

    const r = await runCli(['vdb-migrate', '--json', '--batch-size', '3', '--concurrency', '2'], {
      env,
      timeoutMs: 120_000,
    })
    expect(r.code, r.stderr).toBe(7) // the gap dataset is incomplete
    const byId = new Map((r.json.units as Array<{ id: string }>).map((u) => [u.id, u as any]))
    for (const id of [w.ids.text, w.ids.pc, w.ids.mm, w.ids.app])
      expect(byId.get(id).outcome, JSON.stringify(byId.get(id))).toBe('migrated')
    expect(byId.get(w.ids.gap)).toMatchObject({
      outcome: 'incomplete',
      missing: 1,
      missingDocIds: [w.nowhere],
      switched: false,
    })
    expect(r.stderr).toMatch(/migrated/)

    // exactly the live set in the target, once each
    for (const id of [w.ids.text, w.ids.pc, w.ids.mm, w.ids.app]) {
      const got = await dump(dst, targetOf('chroma', id))
      expect([...got.keys()].sort()).toEqual([...w.live.get(id)!].sort())
    }
    // metadata copied as stored (extractor key, QA answer, image doc_type); the cached one gets Dify's metadata
    const got = await dump(dst, targetOf('chroma', w.ids.text))
    for (const [docId, rec] of got) {
      if (docId === w.cacheOnly) {
        expect(rec.metadata.doc_id).toBe(docId)
        expect(rec.metadata.source).toBeUndefined()
      } else expect(rec.metadata).toEqual(srcBefore.get(docId)!.metadata)
    }
    expect([...got.values()].some((x) => x.metadata.answer === 'the answer')).toBe(true)
    const mm = await dump(dst, targetOf('chroma', w.ids.mm))
    expect([...mm.values()].filter((x) => x.metadata.doc_type === 'image')).toHaveLength(1)

    // the same nearest neighbours as the source gave for the live items
    // (the vector the source lacked, resolved from the cache, is new in the target: left out of the comparison)
    const after = await dst.search(targetOf('chroma', w.ids.text), q, 5)
    expect(
      after
        .map((h) => h.docId)
        .filter((d) => d !== w.cacheOnly)
        .slice(0, 4),
    ).toEqual(expectedNeighbours)

    // switched with Dify's exact index_struct (chroma: lower-cased class_prefix); the gap dataset is not
    const rows = (await c.query(`select id, index_struct from datasets`)).rows as Array<{
      id: string
      index_struct: string
    }>
    const is = new Map(rows.map((x) => [x.id, x.index_struct]))
    expect(is.get(w.ids.text)).toBe(indexStructJson('chroma', targetOf('chroma', w.ids.text).collection))
    expect(is.get(w.ids.gap)).toBe(w.indexStructs.get(w.ids.gap))
    expect(
      await redis.client.exists(keys.vectorIndexing('chroma', targetOf('chroma', w.ids.text).collection, redis.prefix)),
    ).toBe(0)

    // the source is untouched
    expect((await dump(src, w.sourceTargets.get(w.ids.text)!)).size).toBe(srcBefore.size)
    // the audit line (exit 7 is audited) names the target store, then the source store
    const audit = await redis.client.xrange(`${redis.prefix}dify_ops:audit`, '-', '+')
    const line = JSON.parse(audit.at(-1)![1][1]!)
    expect(line).toMatchObject({ command: 'vdb-migrate', outcome: 'partial' })
    expect(r.json.sources.map((x: { type: string }) => x.type)).toEqual(['pgvector'])
    expect(line.target.vectorStores).toEqual([
      `chroma@${r.json.target.location} (target)`,
      `pgvector@${r.json.sources[0].location} (source)`,
    ])
    const cp = (await c.query(`select unit_id, state from dify_ops_vdb_migrate_checkpoints`)).rows as Array<{
      unit_id: string
      state: string
    }>
    expect(cp.find((x) => x.unit_id === w.ids.text)?.state).toBe('done')
  })

  it('a rerun skips what is done (annotations exact on the target) and reports the gap again', async () => {
    const r = await runCli(['vdb-migrate', '--json'], { env, timeoutMs: 120_000 })
    expect(r.code).toBe(7)
    const byId = new Map((r.json.units as Array<{ id: string }>).map((u) => [u.id, u as any]))
    expect(byId.get(w.ids.text).outcome).toBe('skipped')
    expect(byId.get(w.ids.app)).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringMatching(/exactly the live annotations/),
    })
    expect(byId.get(w.ids.gap).outcome).toBe('incomplete')
  })

  it('annotations without --from are completed in place: live vectors kept, a stale one deleted, a gap filled from the cache', async () => {
    const t = targetOf('chroma', w.ids.app)
    const [first, second] = w.live.get(w.ids.app)!
    await dst.deleteByDocIds(t, [first!])
    const stale = '00000000-0000-4000-8000-000000000001'
    await dst.upsert(t, [
      {
        id: stale,
        docId: stale,
        text: 'deleted annotation',
        metadata: { annotation_id: stale, app_id: w.ids.app },
        vector: unitVector('x', DIM),
      },
    ])
    const r = await runCli(['vdb-migrate', '--json', '--scope', 'annotation'], { env, timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.units[0]).toMatchObject({ outcome: 'migrated', kept: 1, fromCache: 1, orphans: 1, missing: 0 })
    expect([...(await dump(dst, t)).keys()].sort()).toEqual([first, second].sort())
  })

  it('--allow-missing switches the gap dataset; filters and shards narrow the selection', async () => {
    const r0 = await runCli(['vdb-migrate', '--json', '--dry-run', '--dataset', w.ids.gap, '--shard', '0/1'], {
      env,
      timeoutMs: 60_000,
    })
    expect(r0.json.units.map((u: { id: string }) => u.id)).toEqual([w.ids.gap])
    const r = await runCli(
      ['vdb-migrate', '--json', '--scope', 'knowledge', '--dataset', w.ids.gap, '--allow-missing'],
      { env, timeoutMs: 60_000 },
    )
    expect(r.code, r.stdout).toBe(0)
    expect(r.json.units[0]).toMatchObject({ outcome: 'migrated', missing: 1, switched: true })
    const bad = await runCli(['vdb-migrate', '--shard', '3/2'], { env })
    expect(bad.code).toBe(2)
  })
})
