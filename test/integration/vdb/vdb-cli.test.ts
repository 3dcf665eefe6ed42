import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/schema.js'
import { genCollectionNameById, indexStructJson } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore, VectorTarget } from '../../../src/vector/store.js'
import { runCli } from '../../support/cli.js'
import { loadOracleSchema } from '../../support/dify-schema.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { DifySeeder, unitVector } from '../../support/vdb-seed.js'
import { pgvectorAvailable, pgvectorVars } from '../../support/pgvector.js'

/**
 * vdb check / show / repair through the built CLI, on a PostgreSQL database with Dify's 1.12 schema and a real
 * vector store (native pgvector in the same database; a local Chroma server), seeded with known drift.
 */

const DIM = 8
const CHROMA = { host: '127.0.0.1', port: Number(process.env.CHROMA_TEST_PORT ?? 8011) }

const haveChroma = await fetch(`http://${CHROMA.host}:${CHROMA.port}/api/v2/heartbeat`).then(
  (r) => r.ok,
  () => false,
)
const havePgvector = await pgvectorAvailable()
if (!havePgvector) console.warn('SKIPPED: pgvector missing; run scripts/services/pgvector.sh')
if (!haveChroma) console.warn('SKIPPED: no Chroma server; run scripts/services/chroma.sh')

const storeEnv = (store: string, db: Scratch): Record<string, string> =>
  store === 'pgvector'
    ? { VECTOR_STORE: 'pgvector', ...pgvectorVars(db.name) }
    : { VECTOR_STORE: 'chroma', CHROMA_HOST: CHROMA.host, CHROMA_PORT: String(CHROMA.port) }

describe.each([
  ['pgvector', havePgvector],
  ['chroma', haveChroma],
])('vdb check/show/repair on %s', (storeType, available) => {
  let db: Scratch
  let redis: ScratchRedis
  let c: pg.Client
  let s: DifySeeder
  let store: VectorStore
  let env: Record<string, string>
  const ids: Record<string, string> = {}
  const targets: VectorTarget[] = []
  /** the doc_ids seeded as drift */
  const drift = {
    aMissing: [] as string[],
    aOrphans: [] as string[],
    aUncached: '',
    bOrphans: [] as string[],
    cParents: [] as string[],
    cChildren: [] as string[],
    appMissing: '',
  }

  const name = (id: string) =>
    storeType === 'chroma' ? genCollectionNameById(id).toLowerCase() : genCollectionNameById(id)
  const put = async (
    t: VectorTarget,
    items: Array<{ docId: string; text: string; meta?: Record<string, unknown> }>,
  ) => {
    await store.ensureCollection(t, DIM)
    await store.upsert(
      t,
      items.map((i) => ({
        id: i.docId,
        docId: i.docId,
        text: i.text,
        metadata: { doc_id: i.docId, ...i.meta },
        vector: unitVector(i.text, DIM),
      })),
    )
  }
  const storedIds = async (t: VectorTarget) => {
    const out: string[] = []
    for await (const b of store.scan(t)) out.push(...b.map((r) => r.docId))
    return out.sort()
  }
  const snapshot = async () => Promise.all(targets.map(storedIds))

  beforeAll(async () => {
    if (!available) return
    db = await scratchPg(`vdbcli${storeType}`)
    redis = await scratchRedis(`vdbcli${storeType}`)
    loadOracleSchema(db.name, '788d3099ae3a')
    c = new pg.Client({ ...PG, database: db.name })
    await c.connect()
    if (storeType === 'pgvector') await c.query('create extension if not exists vector')
    env = { ...db.env, ...redis.env, ...storeEnv(storeType, db) }
    const raw = new Map(
      Object.entries(storeEnv(storeType, db)).map(([k, v]) => [k, { value: v, source: 'environment' as const }]),
    )
    store = await openVectorStore(parseConfig(raw))
    s = new DifySeeder(c)
    const cached: Array<{ text: string; vector: number[] }> = []
    const cache = (text: string) => cached.push({ text, vector: unitVector(text, DIM) })
    const ds = async () => {
      const id = randomUUID()
      await s.dataset({ id, indexStruct: indexStructJson(storeType, name(id)) })
      return id
    }

    // A: text dataset: 6 live segments, 4 stored; 2 missing (one cached, one not); 2 orphans
    ids.a = await ds()
    const da = await s.document(ids.a)
    const segsA = []
    for (let i = 0; i < 6; i++) segsA.push(await s.segment(ids.a, da, `A text ${i}`))
    for (let i = 0; i < 5; i++) cache(`A text ${i}`)
    drift.aMissing = [segsA[4]!.nodeId, segsA[5]!.nodeId]
    drift.aUncached = segsA[5]!.nodeId
    drift.aOrphans = [randomUUID(), randomUUID()]
    const tA = { collection: name(ids.a) }
    await put(tA, [
      ...segsA
        .slice(0, 4)
        .map((x, i) => ({ docId: x.nodeId, text: `A text ${i}`, meta: { document_id: da, dataset_id: ids.a } })),
      ...drift.aOrphans.map((o, i) => ({ docId: o, text: `gone ${i}` })),
    ])
    // B: a disabled document whose vectors were not deleted
    ids.b = await ds()
    const dOn = await s.document(ids.b)
    const dOff = await s.document(ids.b, { enabled: false })
    const on = [await s.segment(ids.b, dOn, 'B on 0'), await s.segment(ids.b, dOn, 'B on 1')]
    const off = [await s.segment(ids.b, dOff, 'B off 0'), await s.segment(ids.b, dOff, 'B off 1')]
    drift.bOrphans = off.map((x) => x.nodeId)
    await put(
      { collection: name(ids.b) },
      [...on, ...off]
        .map((x, i) => ({ docId: x.nodeId, text: `B ${i}` }))
        .map((r, i) => ({ ...r, text: i < 2 ? `B on ${i}` : `B off ${i - 2}` })),
    )
    // C: parent-child indexed with the parents instead of the children (Dify's 1.11 vdb-migrate, #31622)
    ids.c = await ds()
    const dc = await s.document(ids.c, { docForm: 'hierarchical_model' })
    const parents = []
    for (let p = 0; p < 2; p++) {
      const parent = await s.segment(ids.c, dc, `C parent ${p}`)
      parents.push(parent)
      for (let k = 0; k < 2; k++) {
        drift.cChildren.push((await s.child(ids.c, dc, parent.id, `C child ${p}.${k}`)).nodeId)
        cache(`C child ${p}.${k}`)
      }
    }
    drift.cParents = parents.map((p) => p.nodeId)
    await put(
      { collection: name(ids.c) },
      parents.map((p, i) => ({ docId: p.nodeId, text: `C parent ${i}` })),
    )
    // D: consistent
    ids.d = await ds()
    const dd = await s.document(ids.d)
    const segsD = [
      await s.segment(ids.d, dd, 'D 0'),
      await s.segment(ids.d, dd, 'D 1'),
      await s.segment(ids.d, dd, 'D 2'),
    ]
    for (let i = 0; i < 3; i++) cache(`D ${i}`)
    await put(
      { collection: name(ids.d) },
      segsD.map((x, i) => ({ docId: x.nodeId, text: `D ${i}` })),
    )
    // an annotation app: 2 annotations, 1 stored, 1 missing (cached)
    const bind = await s.binding({ type: 'annotation' })
    ids.app = await s.app()
    await s.annotationSetting(ids.app, bind.id)
    const an0 = await s.annotation(ids.app, 'question zero')
    drift.appMissing = await s.annotation(ids.app, 'question one')
    cache('question zero')
    cache('question one')
    await put({ collection: name(ids.app) }, [{ docId: an0, text: 'question zero' }])
    await s.cache(cached)
    targets.push(
      tA,
      { collection: name(ids.b) },
      { collection: name(ids.c) },
      { collection: name(ids.d) },
      { collection: name(ids.app) },
    )
  }, 120_000)

  afterAll(async () => {
    if (!available) return
    for (const t of targets) await store.deleteTarget(t).catch(() => {})
    await store?.close()
    await c?.end()
    await db?.drop()
    await redis?.drop()
  })

  const byId = (json: any) => Object.fromEntries((json.targets as any[]).map((t) => [t.id, t]))

  it.skipIf(!available)('check reports exactly the seeded drift, worst first; exit 8', async () => {
    const r = await runCli(['vdb', 'check', '--sample', '100', '--json'], { env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(8)
    const t = byId(r.json)
    expect(Object.keys(t).sort()).toEqual([ids.a, ids.b, ids.c, ids.d, ids.app].sort())
    const pick = (x: any) => ({
      live: x.live.total,
      stored: x.stored,
      missing: x.missing,
      orphaned: x.orphaned,
      duplicated: x.duplicated,
      status: x.status,
    })
    expect(pick(t[ids.a!])).toEqual({ live: 6, stored: 6, missing: 2, orphaned: 2, duplicated: 0, status: 'drift' })
    expect(t[ids.a!].examples.missing.sort()).toEqual([...drift.aMissing].sort())
    expect(t[ids.a!].examples.orphaned.sort()).toEqual([...drift.aOrphans].sort())
    expect(pick(t[ids.b!])).toEqual({ live: 2, stored: 4, missing: 0, orphaned: 2, duplicated: 0, status: 'drift' })
    expect(t[ids.b!].examples.orphaned.sort()).toEqual([...drift.bOrphans].sort())
    expect(pick(t[ids.c!])).toEqual({ live: 4, stored: 2, missing: 4, orphaned: 2, duplicated: 0, status: 'drift' })
    expect(t[ids.c!].live.child).toBe(4)
    expect(t[ids.c!].examples.orphaned.sort()).toEqual([...drift.cParents].sort())
    expect(pick(t[ids.d!])).toEqual({
      live: 3,
      stored: 3,
      missing: 0,
      orphaned: 0,
      duplicated: 0,
      status: 'consistent',
    })
    expect(pick(t[ids.app!])).toEqual({ live: 2, stored: 1, missing: 1, orphaned: 0, duplicated: 0, status: 'drift' })
    // the sample: every stored live item compared with its cache entry (A's four are cached, D's three, the annotation)
    expect(t[ids.a!].sample).toMatchObject({ checked: 4, equal: 4, mismatched: 0, noCacheEntry: 0 })
    expect(t[ids.d!].sample).toMatchObject({ checked: 3, equal: 3, mismatched: 0 })
    expect(t[ids.b!].sample).toMatchObject({ checked: 2, equal: 0, noCacheEntry: 2 })
    expect(r.json.summary).toMatchObject({
      targets: 5,
      consistent: 1,
      drift: 4,
      missing: 7,
      orphaned: 6,
      offNorm: 0,
      sampleMismatched: 0,
    })
    // sorted by worst drift: C (6) first, D (0) last
    expect(r.json.targets[0].id).toBe(ids.c)
    expect(r.json.targets[4].id).toBe(ids.d)
  })

  it.skipIf(!available)('check filters: --dataset, --scope annotation; human table', async () => {
    const one = await runCli(['vdb', 'check', '--dataset', ids.d!], { env })
    expect(one.code).toBe(0)
    expect(one.stdout).toMatch(/consistent\s+dataset\s+/)
    expect(one.stdout).toContain('1 checked: 1 consistent')
    const ann = await runCli(['vdb', 'check', '--scope', 'annotation', '--json'], { env })
    expect(ann.code).toBe(8)
    expect(ann.json.targets.map((x: any) => x.id)).toEqual([ids.app])
    const tenant = await runCli(
      ['vdb', 'check', '--tenant', s.tenantId, '--scope', 'knowledge', '--sample', '0', '--json'],
      { env },
    )
    expect(tenant.json.targets.map((x: any) => x.id).sort()).toEqual([ids.a, ids.b, ids.c, ids.d].sort())
    const other = await runCli(['vdb', 'check', '--tenant', randomUUID()], { env })
    expect(other.code).toBe(0)
    expect(other.stdout).toContain('No dataset or annotation app with vectors matched.')
  })

  it.skipIf(!available)('show: where Dify looks, and the counts', async () => {
    const r = await runCli(['vdb', 'show', ids.c!, '--json'], { env })
    expect(r.code).toBe(0)
    expect(r.json.store).toMatchObject({
      type: storeType,
      typeFrom: 'index_struct',
      collection: name(ids.c!),
      exists: true,
      dimension: DIM,
      physicalName: storeType === 'pgvector' ? `embedding_${name(ids.c!).toLowerCase()}`.slice(0, 63) : name(ids.c!),
      metric: storeType === 'pgvector' ? 'cosine' : 'l2',
    })
    expect(r.json.store.indexStruct).toBe(indexStructJson(storeType, name(ids.c!)))
    expect(r.json).toMatchObject({ missing: 4, orphaned: 2 })
    const app = await runCli(['vdb', 'show', ids.app!], { env })
    expect(app.code).toBe(0)
    expect(app.stdout).toContain('Annotation app')
    const none = await runCli(['vdb', 'show', randomUUID()], { env })
    expect(none.code).toBe(3)
  })

  it.skipIf(!available)(
    'repair --dry-run writes nothing; without --yes and no terminal it refuses (exit 2)',
    async () => {
      const before = await snapshot()
      const keysBefore = await redis.client.keys(`${redis.prefix}*`)
      const r = await runCli(['vdb', 'repair', '--delete-orphans', '--fill-missing', '--dry-run', '--json'], { env })
      expect(r.code).toBe(0)
      expect(r.json.dryRun).toBe(true)
      expect(r.json.summary).toMatchObject({
        orphansFound: 6,
        orphansDeleted: 0,
        missingFound: 7,
        fillable: 6,
        filled: 0,
        unfillable: 1,
        skipped: 0,
      })
      expect(await snapshot()).toEqual(before)
      expect(await redis.client.keys(`${redis.prefix}*`)).toEqual(keysBefore) // not even an audit line
      const refused = await runCli(['vdb', 'repair', '--delete-orphans', '--fill-missing'], { env })
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain('--yes')
      expect(await snapshot()).toEqual(before)
    },
  )

  it.skipIf(!available)(
    'repair fixes the repairable part; check then reports exactly what could not be filled; with the cache entry, clean',
    async () => {
      const r = await runCli(['vdb', 'repair', '--delete-orphans', '--fill-missing', '--yes', '--json'], { env })
      expect(r.code).toBe(7) // one vector could not be filled
      expect(r.json.summary).toMatchObject({ orphansDeleted: 6, filled: 6, unfillable: 1, skipped: 0 })
      const a = r.json.targets.find((x: any) => x.id === ids.a)
      expect(a.missing.unfillableExamples).toEqual([{ docId: drift.aUncached, reason: 'no-cache-entry' }])
      expect(await storedIds({ collection: name(ids.c!) })).toEqual([...drift.cChildren].sort())
      // the audit line names the store it wrote to, as `<type>@<location>` without credentials
      const audit = await redis.client.xrange(`${redis.prefix}dify_ops:audit`, '-', '+')
      const line = JSON.parse(audit.at(-1)![1][1]!)
      expect(line.command).toBe('vdb:repair')
      expect(line.target.vectorStores).toEqual([expect.stringMatching(new RegExp(`^${storeType}@.`))])

      const after = await runCli(['vdb', 'check', '--sample', '100', '--json'], { env })
      expect(after.code).toBe(8)
      const t = byId(after.json)
      expect(after.json.summary).toMatchObject({ missing: 1, orphaned: 0, duplicated: 0, sampleMismatched: 0 })
      expect(t[ids.a!].examples.missing).toEqual([drift.aUncached])
      // filled vectors carry the metadata Dify builds
      const filled = (await (async () => {
        for await (const b of store.scan({ collection: name(ids.c!) })) return b
      })())!
      expect(filled[0]!.metadata).toMatchObject({
        document_id: expect.any(String),
        dataset_id: ids.c,
        doc_hash: expect.any(String),
      })

      await s.cache([{ text: 'A text 5', vector: unitVector('A text 5', DIM) }])
      const again = await runCli(['vdb', 'repair', '--dataset', ids.a!, '--fill-missing', '--yes', '--json'], { env })
      expect(again.code).toBe(0)
      expect(again.json.summary).toMatchObject({ filled: 1, unfillable: 0 })
      const clean = await runCli(['vdb', 'check', '--sample', '100'], { env })
      expect(clean.code).toBe(0)
      expect(clean.stdout).toContain('5 checked: 5 consistent, 0 with drift')
    },
  )

  it.skipIf(!available)(
    'check counts off-norm vectors over the whole store and compares the sampled vectors with the cache',
    async () => {
      // E: four cached segments stored as: right, another unit vector (mismatch), twice the right one (off norm and
      // mismatch), right; --sample 0 still counts the off-norm vector (pgvector: norms computed by the server)
      const id = randomUUID()
      await s.dataset({ id, indexStruct: indexStructJson(storeType, name(id)) })
      const d = await s.document(id)
      const segs: Array<Awaited<ReturnType<DifySeeder['segment']>>> = []
      for (let i = 0; i < 4; i++) segs.push(await s.segment(id, d, `E text ${i}`))
      await s.cache(segs.map((_, i) => ({ text: `E text ${i}`, vector: unitVector(`E text ${i}`, DIM) })))
      const t = { collection: name(id) }
      targets.push(t)
      await store.ensureCollection(t, DIM)
      const vec = [
        unitVector('E text 0', DIM),
        unitVector('something else', DIM),
        unitVector('E text 2', DIM).map((x) => 2 * x),
        unitVector('E text 3', DIM),
      ]
      await store.upsert(
        t,
        segs.map((x, i) => ({
          id: x.nodeId,
          docId: x.nodeId,
          text: `E text ${i}`,
          metadata: { doc_id: x.nodeId },
          vector: vec[i]!,
        })),
      )
      const r = await runCli(['vdb', 'check', '--dataset', id, '--sample', '10', '--json'], { env })
      expect(r.code).toBe(8)
      const e = r.json.targets[0]
      expect(e).toMatchObject({
        stored: 4,
        missing: 0,
        orphaned: 0,
        offNorm: 1,
        drift: 3,
        examples: { offNorm: [segs[2]!.nodeId] },
      })
      expect(e.sample).toMatchObject({ checked: 4, equal: 2, mismatched: 2, noCacheEntry: 0 })
      expect(e.sample.examples.map((x: any) => x.docId).sort()).toEqual([segs[1]!.nodeId, segs[2]!.nodeId].sort())
      expect(e.sample.examples.find((x: any) => x.docId === segs[2]!.nodeId).cosine).toBeCloseTo(1, 5)
      const none = await runCli(['vdb', 'check', '--dataset', id, '--sample', '0', '--json'], { env })
      expect(none.json.targets[0]).toMatchObject({ offNorm: 1, drift: 1, sample: { checked: 0 } })
      await c.query('update datasets set indexing_technique = null where id = $1', [id])
    },
  )

  it.skipIf(!available)('a dataset whose store is unreachable is reported and never touched', async () => {
    const id = randomUUID()
    await s.dataset({ id, indexStruct: indexStructJson('qdrant', genCollectionNameById(id)) })
    const d = await s.document(id)
    await s.segment(id, d, 'somewhere else')
    const e2 = { ...env, QDRANT_URL: 'http://127.0.0.1:9', QDRANT_CLIENT_TIMEOUT: '2' }
    const chk = await runCli(['vdb', 'check', '--dataset', id, '--json'], { env: e2 })
    expect(chk.code).toBe(7)
    expect(chk.json.targets[0]).toMatchObject({ id, status: 'unreachable', stored: null })
    const rep = await runCli(
      ['vdb', 'repair', '--dataset', id, '--delete-orphans', '--fill-missing', '--yes', '--json'],
      { env: e2 },
    )
    expect(rep.code).toBe(7)
    expect(rep.json.targets[0]).toMatchObject({ id, status: 'skipped' })
    await c.query('update datasets set indexing_technique = null where id = $1', [id])
  })
})
