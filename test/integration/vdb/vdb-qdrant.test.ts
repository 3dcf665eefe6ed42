import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/schema.js'
import { indexStructJson } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore } from '../../../src/vector/store.js'
import { runCli } from '../../support/cli.js'
import { loadOracleSchema } from '../../support/dify-schema.js'
import { startFakeQdrant, type FakeQdrant } from '../../support/fakes/qdrant.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { DifySeeder, unitVector } from '../../support/vdb-seed.js'

/**
 * FAKE Qdrant (test/support/fakes/qdrant.ts, validated against Qdrant 1.8's OpenAPI document): two datasets share
 * one binding collection; drift is judged per group_id and repair never touches the other group's points.
 */
const DIM = 8

describe('vdb check/repair on a shared Qdrant collection (fake server)', () => {
  let fake: FakeQdrant
  let db: Scratch
  let redis: ScratchRedis
  let c: pg.Client
  let store: VectorStore
  let env: Record<string, string>
  let binding: { id: string; collection: string }
  const ids: Record<string, string> = {}
  let orphan = ''
  let missing = ''

  beforeAll(async () => {
    fake = await startFakeQdrant({ apiKey: 'k3y' })
    db = await scratchPg('vdbqdrant')
    redis = await scratchRedis('vdbqdrant')
    loadOracleSchema(db.name, '788d3099ae3a')
    c = new pg.Client({ ...PG, database: db.name })
    await c.connect()
    const qenv = { VECTOR_STORE: 'qdrant', QDRANT_URL: fake.url, QDRANT_API_KEY: 'k3y' }
    env = { ...db.env, ...redis.env, ...qenv }
    store = await openVectorStore(
      parseConfig(new Map(Object.entries(qenv).map(([k, v]) => [k, { value: v, source: 'environment' as const }]))),
    )
    const s = new DifySeeder(c)
    binding = await s.binding()
    const put = async (group: string, items: Array<{ docId: string; text: string }>) => {
      const t = { collection: binding.collection, groupId: group }
      await store.ensureCollection(t, DIM)
      await store.upsert(
        t,
        items.map((i) => ({
          id: i.docId,
          docId: i.docId,
          text: i.text,
          metadata: { doc_id: i.docId },
          vector: unitVector(i.text, DIM),
        })),
      )
    }
    for (const k of ['p', 'q']) {
      ids[k] = await s.dataset({ bindingId: binding.id, indexStruct: indexStructJson('qdrant', binding.collection) })
    }
    const dp = await s.document(ids.p!)
    const segP = [
      await s.segment(ids.p!, dp, 'P 0'),
      await s.segment(ids.p!, dp, 'P 1'),
      await s.segment(ids.p!, dp, 'P 2'),
    ]
    missing = segP[2]!.nodeId
    orphan = (await import('node:crypto')).randomUUID()
    await put(ids.p!, [
      { docId: segP[0]!.nodeId, text: 'P 0' },
      { docId: segP[1]!.nodeId, text: 'P 1' },
      { docId: orphan, text: 'gone' },
    ])
    const dq = await s.document(ids.q!)
    const segQ = [await s.segment(ids.q!, dq, 'Q 0'), await s.segment(ids.q!, dq, 'Q 1')]
    await put(
      ids.q!,
      segQ.map((x, i) => ({ docId: x.nodeId, text: `Q ${i}` })),
    )
    await s.cache(['P 0', 'P 1', 'P 2', 'Q 0', 'Q 1'].map((text) => ({ text, vector: unitVector(text, DIM) })))
  }, 120_000)

  afterAll(async () => {
    await store?.close()
    await c?.end()
    await db?.drop()
    await redis?.drop()
    await fake?.close()
  })

  it('drift is per group_id; repair touches only the drifting group; then clean', async () => {
    const chk = await runCli(['vdb', 'check', '--sample', '10', '--json'], { env })
    expect(chk.code).toBe(8)
    const t = Object.fromEntries(chk.json.targets.map((x: any) => [x.id, x]))
    expect(t[ids.p!]).toMatchObject({
      stored: 3,
      missing: 1,
      orphaned: 1,
      status: 'drift',
      store: { collection: binding.collection, groupId: ids.p },
    })
    expect(t[ids.p!].examples).toMatchObject({ missing: [missing], orphaned: [orphan] })
    expect(t[ids.q!]).toMatchObject({ stored: 2, missing: 0, orphaned: 0, status: 'consistent' })
    expect(t[ids.q!].sample).toMatchObject({ checked: 2, equal: 2 })

    const rep = await runCli(['vdb', 'repair', '--delete-orphans', '--fill-missing', '--yes', '--json'], { env })
    expect(rep.code).toBe(0)
    expect(rep.json.summary).toMatchObject({ orphansDeleted: 1, filled: 1, unfillable: 0 })
    expect(await store.count({ collection: binding.collection, groupId: ids.q! })).toBe(2)
    expect(await store.count({ collection: binding.collection, groupId: ids.p! })).toBe(3)

    const after = await runCli(['vdb', 'check'], { env })
    expect(after.code).toBe(0)
    expect(after.stdout).toContain('2 checked: 2 consistent')
  })
})
