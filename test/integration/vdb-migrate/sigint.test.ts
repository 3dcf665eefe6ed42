import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { genCollectionNameById, indexStructJson } from '../../../src/dify/collections.js'
import { profileFor } from '../../../src/dify/profile.js'
import { openDb } from '../../../src/runtime/db.js'
import type { Db } from '../../../src/core/db.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore, VectorTarget } from '../../../src/vector/store.js'
import { RedisCheckpointStore, type CheckpointPort } from '../../../src/vdb-migrate/checkpoint.js'
import { runUnits } from '../../../src/vdb-migrate/run.js'
import { liveSetPort, selectUnits } from '../../../src/vdb-migrate/select.js'
import { embeddingCachePort } from '../../../src/vdb-migrate/deps.js'
import type { Deps, MigrateOptions } from '../../../src/vdb-migrate/types.js'
import { BIN } from '../../support/cli.js'
import { loadRelease } from '../../support/oracles.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { DifySeeder, unitVector } from '../../support/vdb-seed.js'
import { dump } from '../../support/vdb-migrate-world.js'
import { pgvectorAvailable, pgvectorVars, writeEnvFile } from '../../support/pgvector.js'
import { configFromVars as cfg } from '../../support/config.js'

/**
 * SIGINT at every phase of vdb-migrate (issue #17, hostile input 10): pgvector database A → pgvector database B,
 * checkpoints in the real Redis (in-process runs) or the metadata database (the CLI run). Whatever the phase, the
 * unit ends `interrupted`, index_struct is not switched, Dify's keys are untouched, and the rerun finishes exact.
 * In-process runs abort the signal from inside the phase (deterministic); the CLI run gets a real SIGINT while the
 * checkpoint says `copied` (verification under way) and must exit 130 without switching.
 */

const DIM = 16
const pgvectorUp = await pgvectorAvailable()
if (!pgvectorUp) console.warn('SKIPPED: pgvector missing; run scripts/services/pgvector.sh')

describe.skipIf(!pgvectorUp)('vdb-migrate SIGINT at each phase (pgvector → pgvector, Redis)', () => {
  let a: Scratch
  let b: Scratch
  let redis: ScratchRedis
  let c: pg.Client
  let src: VectorStore
  let dst: VectorStore
  let kdb: Db
  let s: DifySeeder

  beforeAll(async () => {
    a = await scratchPg('vdbsigint')
    b = await scratchPg('vdbsigintb')
    await loadRelease(a, 'postgres', '1.12.1')
    redis = await scratchRedis('vdbsigint')
    c = new pg.Client({ ...PG, database: a.name })
    await c.connect()
    src = await openVectorStore(cfg({ VECTOR_STORE: 'pgvector', ...pgvectorVars(a.name) }))
    dst = await openVectorStore(cfg({ VECTOR_STORE: 'pgvector', ...pgvectorVars(b.name) }), {
      redis: { client: redis.client, keyPrefix: redis.prefix },
    })
    kdb = await openDb(
      {
        type: 'postgresql',
        host: PG.host,
        port: PG.port,
        user: PG.user,
        password: '',
        database: a.name,
        extras: {},
      } as never,
      { connectTimeoutMs: 5000 },
    )
    s = new DifySeeder(c)
  })
  afterAll(async () => {
    await src?.close()
    await dst?.close()
    await kdb?.close()
    await c?.end()
    await a?.drop()
    await b?.drop()
    await redis?.drop()
  })

  /** a dataset whose n segments are in the source, plus `cached` only in the embeddings cache */
  async function seed(n: number, cached = 0): Promise<{ id: string; live: string[]; before: string; t: VectorTarget }> {
    const id = randomUUID()
    const coll = genCollectionNameById(id)
    const before = indexStructJson('pgvector', coll)
    await s.dataset({ id, indexStruct: before })
    const doc = await s.document(id)
    const live: string[] = []
    const recs = []
    const cache = []
    for (let i = 0; i < n + cached; i++) {
      const text = `sigint ${i} of ${id}`
      const seg = await s.segment(id, doc, text)
      live.push(seg.nodeId)
      if (i < n)
        recs.push({
          id: seg.nodeId,
          docId: seg.nodeId,
          text,
          metadata: { doc_id: seg.nodeId, doc_hash: 'h', document_id: doc, dataset_id: id },
          vector: unitVector(text, DIM),
        })
      else cache.push({ text, vector: unitVector(text, DIM) })
    }
    await src.ensureCollection({ collection: coll }, DIM)
    await src.upsert({ collection: coll }, recs)
    if (cache.length) await s.cache(cache)
    return { id, live, before, t: { collection: coll } }
  }

  const indexStruct = async (id: string) =>
    (await c.query(`select index_struct from datasets where id = $1`, [id])).rows[0].index_struct as string
  const opts = (id: string): MigrateOptions => ({
    scope: 'knowledge',
    datasets: [id],
    tenants: [],
    apps: [],
    batchSize: 5,
    concurrency: 2,
    restart: false,
    dryRun: false,
    force: false,
    allowMissing: false,
    verifySample: 5,
    from: 'pgvector',
  })

  /** one in-process run; `rig` wraps the target store, the cache and the checkpoints to abort inside a phase */
  async function run(
    id: string,
    rig: (
      abort: () => void,
      w: { store: VectorStore; cache: Deps['cache']; checkpoints: CheckpointPort },
    ) => void = () => {},
  ) {
    const ac = new AbortController()
    const liveDeps = { db: kdb, profile: profileFor('788d3099ae3a'), vectorStore: 'pgvector' }
    const store = Object.create(dst) as VectorStore
    const cache = embeddingCachePort(kdb)
    const checkpoints: CheckpointPort = new RedisCheckpointStore({
      client: redis.client as never,
      keyPrefix: redis.prefix,
    })
    const w = { store, cache, checkpoints }
    rig(() => ac.abort(), w)
    const o = opts(id)
    const units = await selectUnits(liveDeps, o)
    return runUnits(
      {
        db: kdb,
        checkpoints: w.checkpoints,
        redis: { client: redis.client, keyPrefix: redis.prefix },
        target: { store: w.store, key: 'pgvector@b', location: 'b', serverVersion: 'x' },
        openSource: async () => ({ store: src, key: 'pgvector@a', location: 'a', serverVersion: 'x' }),
        live: liveSetPort(liveDeps),
        cache: w.cache,
        vectorIndexNamePrefix: 'Vector_index',
        signal: ac.signal,
      },
      o,
      units,
    )
  }

  const phases: Array<
    [string, (abort: () => void, w: { store: VectorStore; cache: Deps['cache']; checkpoints: CheckpointPort }) => void]
  > = [
    [
      'copy (after the first batch is written)',
      (abort, w) => {
        const up = w.store.upsert.bind(w.store)
        w.store.upsert = async (t, recs) => (await up(t, recs), abort())
      },
    ],
    [
      'embedding-cache fill',
      (abort, w) => {
        const look = w.cache.lookup.bind(w.cache)
        w.cache = { lookup: async (...x) => (abort(), look(...x)) }
      },
    ],
    [
      'verification: count',
      (abort, w) => {
        const count = w.store.count.bind(w.store)
        w.store.count = async (t) => (abort(), count(t))
      },
    ],
    [
      'verification: scan of the target',
      (abort, w) => {
        const scan = w.store.scan.bind(w.store)
        w.store.scan = async function* (t, o) {
          for await (const batch of scan(t, o)) {
            abort()
            yield batch
          }
        }
      },
    ],
    [
      'verification: search probe',
      (abort, w) => {
        const search = w.store.search.bind(w.store)
        w.store.search = async (...x) => (abort(), search(...x))
      },
    ],
    [
      'after verification, before the switch',
      (abort, w) => {
        const put = w.checkpoints.put.bind(w.checkpoints)
        w.checkpoints = {
          kind: 'redis',
          get: w.checkpoints.get.bind(w.checkpoints),
          remove: w.checkpoints.remove.bind(w.checkpoints),
          put: async (cp) => {
            await put(cp)
            if (cp.state === 'verified') abort()
          },
        }
      },
    ],
  ]

  it.each(phases)(
    "SIGINT during %s: interrupted, nothing switched; the rerun finishes exact and clears Dify's key",
    async (_phase, rig) => {
      const d = await seed(20, 2)
      const key = `${redis.prefix}vector_indexing_${d.t.collection}`
      await redis.client.set(key, '1')
      const r = await run(d.id, rig)
      expect(r.interrupted).toBe(true)
      expect(r.units[0]).toMatchObject({ outcome: 'interrupted', switched: false })
      expect(await indexStruct(d.id)).toBe(d.before)
      await redis.client.set(key, '1') // as Dify would after looking at the (unchanged) source collection
      const again = await run(d.id)
      expect(again.interrupted).toBe(false)
      expect(again.units[0]).toMatchObject({ outcome: 'migrated', verified: true, switched: true, missing: 0 })
      expect(await indexStruct(d.id)).toBe(d.before) // pgvector → pgvector: the same class_prefix, written by the switch
      expect([...(await dump(dst, d.t)).keys()].sort()).toEqual([...d.live].sort())
      expect(await redis.client.exists(key)).toBe(0)
    },
  )

  it('the CLI: a real SIGINT while verifying exits 130 without switching; the rerun finishes', async () => {
    // enough rows that verification (HNSW build, read-back) lasts well beyond the polling interval
    const id = randomUUID()
    const coll = genCollectionNameById(id)
    const before = indexStructJson('pgvector', coll)
    await s.dataset({ id, indexStruct: before })
    const doc = await s.document(id)
    const N = 6000
    const DIMS = 256
    const nodes = Array.from({ length: N }, () => randomUUID())
    await c.query(
      `insert into document_segments (id, tenant_id, dataset_id, document_id, position, content, word_count, tokens, hit_count, enabled, status, created_by, index_node_id, index_node_hash)
       select gen_random_uuid(), $1, $2, $3, g, 'big ' || g, 3, 1, 0, true, 'completed', $4, n, 'h' from unnest($5::text[]) with ordinality as u(n, g)`,
      [s.tenantId, id, doc, s.userId, nodes],
    )
    const srcT = { collection: coll }
    await src.ensureCollection(srcT, DIMS)
    for (let i = 0; i < N; i += 1000) {
      await src.upsert(
        srcT,
        nodes.slice(i, i + 1000).map((n, k) => ({
          id: n,
          docId: n,
          text: `big ${i + k + 1}`,
          metadata: { doc_id: n, document_id: doc, dataset_id: id },
          vector: unitVector(`big ${n}`, DIMS),
        })),
      )
    }
    const sourceEnv = writeEnvFile({ VECTOR_STORE: 'pgvector', ...pgvectorVars(a.name) }, 'vdbsigint')
    const env = { ...a.env, ...redis.env, VECTOR_STORE: 'pgvector', ...pgvectorVars(b.name) }
    const args = [
      'vdb-migrate',
      '--json',
      '--scope',
      'knowledge',
      '--dataset',
      id,
      '--from',
      'pgvector',
      '--source-env-file',
      sourceEnv,
      '--batch-size',
      '1000',
    ]
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (x) => (out += x))
    child.stderr.on('data', (x) => (err += x))
    const closed = new Promise<number>((res) => child.on('close', (code) => res(code ?? -1)))
    let state = ''
    for (let i = 0; i < 2400 && state !== 'copied'; i++) {
      state =
        (
          await c
            .query(`select state from dify_ops_vdb_migrate_checkpoints where unit_id = $1`, [id])
            .catch(() => ({ rows: [] }))
        ).rows[0]?.state ?? ''
      if (state !== 'copied') await new Promise((r) => setTimeout(r, 25))
    }
    expect(state, err).toBe('copied')
    child.kill('SIGINT')
    const code = await closed
    expect(code, err).toBe(130)
    const res = JSON.parse(out)
    expect(res.interrupted).toBe(true)
    expect(res.units[0]).toMatchObject({ outcome: 'interrupted', switched: false })
    expect(res.units[0].reason).toMatch(/nothing switched/)
    expect(await indexStruct(id)).toBe(before)
    expect(
      (await c.query(`select state from dify_ops_vdb_migrate_checkpoints where unit_id = $1`, [id])).rows[0].state,
    ).toBe('copied')
    // the rerun verifies and switches
    const rerun = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out2 = ''
    rerun.stdout.on('data', (x) => (out2 += x))
    const code2 = await new Promise<number>((res2) => rerun.on('close', (cd) => res2(cd ?? -1)))
    expect(code2).toBe(0)
    expect(JSON.parse(out2).units[0]).toMatchObject({ outcome: 'migrated', switched: true, resumedFrom: 0x7fffffff })
    expect(await dst.count({ collection: coll })).toBe(N)
  }, 300_000)
})
