import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { classPrefixForStore, indexStructJson } from '../../../src/dify/collections.js'
import { openDb } from '../../../src/runtime/db.js'
import type { Db } from '../../../src/core/db.js'
import { profileFor } from '../../../src/dify/profile.js'
import type { VectorStore, VectorTarget } from '../../../src/vector/store.js'
import { runUnits } from '../../../src/vdb-migrate/run.js'
import { liveSetPort, selectUnits } from '../../../src/vdb-migrate/select.js'
import { embeddingCachePort } from '../../../src/vdb-migrate/deps.js'
import type { MigrateOptions } from '../../../src/vdb-migrate/types.js'
import { BIN, runCli } from '../../support/cli.js'
import type { Scratch } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { DifySeeder, unitVector } from '../../support/vdb-seed.js'
import { dump } from '../../support/vdb-migrate-world.js'
import { pgvectorAvailable } from '../../support/pgvector.js'
import { chromaAvailable, migrateBed, type MigrateBed } from '../../support/vdb-migrate-bed.js'

const chromaUp = await chromaAvailable()
const pgvectorUp = await pgvectorAvailable()

const N = 240
const DIM = 16

describe.skipIf(!chromaUp || !pgvectorUp)('vdb-migrate fault injection (pgvector → Chroma)', () => {
  let db: Scratch
  let c: pg.Client
  let src: VectorStore
  let dst: VectorStore
  let env: Record<string, string>
  let ds: string
  let ds2: string
  let live: string[]
  const dstT = (id: string): VectorTarget => ({ collection: classPrefixForStore('chroma', id)! })

  let bed: MigrateBed

  beforeAll(async () => {
    bed = await migrateBed('vdbmigfault', 'chroma')
    ;({ db, c, src, dst, env } = bed)
    const s = new DifySeeder(c)
    live = []
    const seed = async () => {
      const id = randomUUID()
      const coll = classPrefixForStore('pgvector', id)!
      await s.dataset({ id, indexStruct: indexStructJson('pgvector', coll) })
      const doc = await s.document(id)
      const recs = []
      for (let i = 0; i < N; i++) {
        const text = `fault segment ${i} of ${id}`
        const seg = await s.segment(id, doc, text)
        if (id === ds || !ds) live.push(seg.nodeId)
        recs.push({
          id: seg.nodeId,
          docId: seg.nodeId,
          text,
          metadata: { doc_id: seg.nodeId, doc_hash: 'x', document_id: doc, dataset_id: id },
          vector: unitVector(text, DIM),
        })
      }
      for (let i = 0; i < 5; i++) {
        const o = randomUUID()
        recs.push({
          id: o,
          docId: o,
          text: 'orphan',
          metadata: { doc_id: o, document_id: doc, dataset_id: id },
          vector: unitVector(`orphan ${i}`, DIM),
        })
      }
      await src.ensureCollection({ collection: coll }, DIM)
      await src.upsert({ collection: coll }, recs)
      return id
    }
    ds = await seed()
    ds2 = await seed()
  })
  afterAll(async () => {
    for (const id of [ds, ds2]) if (id) await dst?.deleteTarget(dstT(id)).catch(() => {})
    await bed?.close()
  })

  const indexStruct = async (id: string) =>
    (await c.query(`select index_struct from datasets where id = $1`, [id])).rows[0].index_struct as string
  const switched = indexStructJson('chroma', classPrefixForStore('chroma', '00000000-0000-0000-0000-000000000000')!)

  it('SIGKILL at 10 points: never switched to an unverified target; the final run ends exact, without duplicates', async () => {
    const states: string[] = []
    for (let k = 0; k < 10; k++) {
      const r = await runCli(
        ['vdb-migrate', '--scope', 'knowledge', '--dataset', ds, '--batch-size', '6', '--concurrency', '2'],
        { env, timeoutMs: 2500 + k * 500 },
      )
      const cp = (
        await c
          .query(`select state, source_position from dify_ops_vdb_migrate_checkpoints where unit_id = $1`, [ds])
          .catch(() => ({ rows: [] }))
      ).rows[0]
      states.push(`${r.code}:${cp ? `${cp.state}@${cp.source_position}` : 'none'}`)
      const is = await indexStruct(ds)
      if (is.includes('"chroma"')) {
        // switched: then the target holds exactly the live set
        const got = await dump(dst, dstT(ds))
        expect([...got.keys()].sort()).toEqual([...live].sort())
        break
      }
    }
    const r = await runCli(['vdb-migrate', '--json', '--scope', 'knowledge', '--dataset', ds], {
      env,
      timeoutMs: 120_000,
    })
    expect(r.code, `${states.join(' ')} ${r.stderr}`).toBe(0)
    expect(['migrated', 'skipped']).toContain(r.json.units[0].outcome)
    expect(await indexStruct(ds)).toBe(switched.replace('00000000_0000_0000_0000_000000000000', ds.replace(/-/g, '_')))
    const got = await dump(dst, dstT(ds)) // throws on a duplicate doc_id
    expect([...got.keys()].sort()).toEqual([...live].sort())
    expect(await dst.count(dstT(ds))).toBe(N)
    console.log(`kill points (exit:checkpoint): ${states.join(' ')}`)
  })

  it('SIGINT stops after the current batch with exit 130; the rerun continues from the checkpoint', async () => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'vdb-migrate',
        '--json',
        '--scope',
        'knowledge',
        '--dataset',
        ds2,
        '--batch-size',
        '4',
        '--concurrency',
        '1',
      ],
      {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => {
      err += d
    })
    // interrupt once the copy is under way (its first batch checkpoint exists)
    for (let i = 0; i < 200; i++) {
      const cp = (
        await c
          .query(`select source_position from dify_ops_vdb_migrate_checkpoints where unit_id = $1`, [ds2])
          .catch(() => ({ rows: [] }))
      ).rows[0]
      if (cp && cp.source_position > 0) break
      await new Promise((r) => setTimeout(r, 50))
    }
    child.kill('SIGINT')
    const code = await new Promise<number>((res) => child.on('close', (cd) => res(cd ?? -1)))
    expect(code, err).toBe(130)
    expect(JSON.parse(out).units[0].outcome).toBe('interrupted')
    const cp = (
      await c.query(`select state, source_position from dify_ops_vdb_migrate_checkpoints where unit_id = $1`, [ds2])
    ).rows[0]
    expect(cp.state).toBe('copying')
    expect(cp.source_position).toBeGreaterThan(0)
    expect(await indexStruct(ds2)).toContain('"pgvector"')
    const r = await runCli(['vdb-migrate', '--json', '--scope', 'knowledge', '--dataset', ds2, '--batch-size', '4'], {
      env,
      timeoutMs: 120_000,
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.units[0].resumedFrom).toBeGreaterThan(0)
    expect(await dst.count(dstT(ds2))).toBe(N)
  })

  it('a target that fails verification is never switched', async () => {
    // a fresh dataset; the target store drops one vector of every write
    const s = new DifySeeder(c)
    const id = randomUUID()
    const coll = classPrefixForStore('pgvector', id)!
    const before = indexStructJson('pgvector', coll)
    await s.dataset({ id, indexStruct: before })
    const doc = await s.document(id)
    const recs = []
    for (let i = 0; i < 10; i++) {
      const seg = await s.segment(id, doc, `v ${i} ${id}`)
      recs.push({
        id: seg.nodeId,
        docId: seg.nodeId,
        text: `v ${i}`,
        metadata: { doc_id: seg.nodeId },
        vector: unitVector(`v ${i} ${id}`, DIM),
      })
    }
    await src.ensureCollection({ collection: coll }, DIM)
    await src.upsert({ collection: coll }, recs)
    const kdb: Db = await openDb(
      {
        type: 'postgresql',
        host: PG.host,
        port: PG.port,
        user: PG.user,
        password: '',
        database: db.name,
        extras: {},
      } as never,
      { connectTimeoutMs: 5000 },
    )
    try {
      const lossy = Object.create(dst) as VectorStore
      lossy.upsert = (t, batch) => dst.upsert(t, batch.slice(1))
      const liveDeps = { db: kdb, profile: profileFor('788d3099ae3a'), vectorStore: 'chroma' }
      const o: MigrateOptions = {
        scope: 'knowledge',
        datasets: [id],
        tenants: [],
        apps: [],
        batchSize: 4,
        concurrency: 2,
        restart: false,
        dryRun: false,
        force: false,
        allowMissing: false,
        verifySample: 5,
      }
      const units = await selectUnits(liveDeps, o)
      const res = await runUnits(
        {
          db: kdb,
          target: { store: lossy, key: 'chroma@test', location: 'test', serverVersion: 'x' },
          openSource: async () => ({ store: src, key: 'pgvector@test', location: 'test', serverVersion: 'x' }),
          live: liveSetPort(liveDeps),
          cache: embeddingCachePort(kdb),
          vectorIndexNamePrefix: 'Vector_index',
        },
        o,
        units,
      )
      expect(res.units[0]).toMatchObject({ outcome: 'failed', verified: false, switched: false })
      expect(res.units[0]!.reason).toMatch(/verification failed/)
      expect(await indexStruct(id)).toBe(before)
    } finally {
      await dst.deleteTarget(dstT(id)).catch(() => {})
      await kdb.close()
    }
  })
})
