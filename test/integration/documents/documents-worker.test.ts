/**
 * `dify documents stuck` and `requeue` against a Dify 1.12.1 PostgreSQL schema, the local Redis (cache DB 0 and
 * broker DB 1, both under this file's scratch prefix) and a real Celery 5.2.6 worker running tasks named and routed
 * like Dify's (test/fixtures/celery/dify_documents_app.py), which records every call it decodes.
 *
 * The world: tenant T1 (dataset A: two orphaned documents, one failed silently, one completed; dataset Q: one
 * document whose message waits in `dataset`, a queue the worker does not consume), tenant T2 (dataset B: two
 * documents in the tenant-isolated queue behind a stale running flag), tenant T3 (dataset S: a document whose task
 * the worker is running for 120 s).
 */
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../support/cli.js'
import { loadRelease } from '../../support/oracles.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG, PYTHON, REDIS } from '../../support/services.js'
import {
  CELERY_DIR,
  celeryEnv,
  pyEnv,
  startWorker,
  waitFor,
  type CeleryEnv,
  type Worker,
} from '../../support/celery.js'
import { DifySeeder } from '../../support/vdb-seed.js'
import { buildTaskMessage } from '../../../src/documents/celery-message.js'

const PRIORITY_TASK = 'tasks.document_indexing_task.priority_document_indexing_task'
const LEGACY_TASK = 'tasks.document_indexing_task.document_indexing_task'

let db: Scratch
let s: ScratchRedis
let c: CeleryEnv
let w: Worker
let client: pg.Client
let cache: Redis
let broker: Redis
let env: Record<string, string>
const seeders: Record<'t1' | 't2' | 't3', DifySeeder> = {} as never
const ids: Record<string, string> = {}

function delay(
  calls: Array<{ task: string; args?: unknown[]; kwargs?: Record<string, unknown> }>,
  prefix = s.prefix,
): string[] {
  const out = execFileSync(PYTHON, ['dify_delay.py'], {
    cwd: CELERY_DIR,
    env: pyEnv(celeryEnv(prefix)),
    input: JSON.stringify(calls),
    encoding: 'utf8',
  })
  return JSON.parse(out.trim().split('\n').pop()!) as string[]
}

interface Recorded {
  task: string
  id: string
  args: unknown[]
  kwargs: Record<string, unknown>
  routing_key: string
}
const recorded = async (): Promise<Recorded[]> =>
  (await broker.lrange(`${s.prefix}calls`, 0, -1)).map((x) => JSON.parse(x) as Recorded)
const cli = (args: string[]) => runCli(['documents', ...args], { env, timeoutMs: 90_000 })

/** every key under our prefix in both DBs, with its type, value and TTL presence */
async function snapshotRedis(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const [dbi, r] of [
    [0, cache],
    [1, broker],
  ] as const) {
    const keys = (await r.keys(`${s.prefix}*`)).sort()
    for (const k of keys) {
      const t = await r.type(k)
      const v =
        t === 'list'
          ? await r.lrange(k, 0, -1)
          : t === 'set'
            ? (await r.smembers(k)).sort()
            : t === 'hash'
              ? await r.hgetall(k)
              : t === 'zset'
                ? await r.zrange(k, 0, -1)
                : await r.get(k)
      out[`${dbi}:${k}`] = { t, v, ttl: (await r.ttl(k)) >= 0 }
    }
  }
  return out
}
const snapshotDb = async () =>
  (await client.query('select id, indexing_status, error, stopped_at from documents order by id')).rows

beforeAll(async () => {
  db = await scratchPg('docsworker')
  await loadRelease(db, 'postgres', '1.12.1')
  s = await scratchRedis('docsworker')
  c = celeryEnv(s.prefix)
  env = { ...db.env, ...s.env }
  client = new pg.Client({ ...PG, database: db.name })
  await client.connect()
  cache = new Redis({ ...REDIS, db: 0 })
  broker = new Redis({ ...REDIS, db: 1 })
  for (const k of ['t1', 't2', 't3'] as const) {
    seeders[k] = new DifySeeder(client)
    await client.query('insert into tenants (id, name) values ($1, $2)', [seeders[k].tenantId, `tenant ${k}`])
  }
  const t1 = seeders.t1
  ids.dsA = await t1.dataset()
  ids.dsQ = await t1.dataset()
  ids.orphan1 = await t1.document(ids.dsA, { status: 'waiting' })
  ids.orphan2 = await t1.document(ids.dsA, { status: 'parsing' })
  ids.failed = await t1.document(ids.dsA, { status: 'indexing' })
  await t1.segment(ids.dsA, ids.failed, 'one', { status: 'completed' })
  await t1.segment(ids.dsA, ids.failed, 'two', { status: 'completed' })
  ids.done = await t1.document(ids.dsA, { status: 'completed' })
  ids.queued = await t1.document(ids.dsQ, { status: 'waiting' })
  ids.dsB = await seeders.t2.dataset()
  ids.blocked1 = await seeders.t2.document(ids.dsB, { status: 'waiting' })
  ids.blocked2 = await seeders.t2.document(ids.dsB, { status: 'waiting' })
  ids.dsS = await seeders.t3.dataset()
  ids.running = await seeders.t3.document(ids.dsS, { status: 'indexing' })
  // behind T3's running task in its tenant queue: queued, and its flag must not be touched
  ids.behind = await seeders.t3.document(ids.dsS, { status: 'waiting' })
  const t3 = seeders.t3.tenantId
  await cache.setex(`${s.prefix}tenant_document_indexing_task:${t3}`, 3600, '1')
  await cache.lpush(
    `${s.prefix}tenant_self_document_indexing_task_queue:${t3}`,
    JSON.stringify({ data: { tenant_id: t3, dataset_id: ids.dsS, document_ids: [ids.behind] } }),
  )
  // reserved by a worker that died (an `unacked` entry no live worker reports): queued, kombu restores it
  ids.unacked = await t1.document(ids.dsQ, { status: 'waiting' })
  const um = buildTaskMessage({
    task: PRIORITY_TASK,
    queue: 'priority_dataset',
    args: [],
    kwargs: { tenant_id: t1.tenantId, dataset_id: ids.dsQ, document_ids: [ids.unacked] },
  })
  const tag = JSON.parse(um.payload).properties.delivery_tag as string
  await broker.hset(`${s.prefix}unacked`, tag, `[${um.payload}, "", "priority_dataset"]`)
  await broker.zadd(`${s.prefix}unacked_index`, Date.now() / 1000 - 60, tag)
  // a stale flag over an empty queue of T1 (whose orphaned documents are in scope): requeue deletes it
  await cache.setex(`${s.prefix}tenant_duplicate_document_indexing_task:${t1.tenantId}`, 3600, '1')
  // paused by a user in Dify: not orphaned, not requeued
  ids.paused = await t1.document(ids.dsQ, { status: 'parsing' })
  await client.query('update documents set is_paused = true where id = $1', [ids.paused])

  // queued: Dify's legacy call in `dataset` (not consumed by this worker)
  delay([{ task: LEGACY_TASK, args: [ids.dsQ, [ids.queued]] }])
  // blocked: a stale running flag and two waiting entries (TaskWrapper JSON, as pydantic writes it)
  const t2 = seeders.t2.tenantId
  await cache.setex(`${s.prefix}tenant_document_indexing_task:${t2}`, 3600, '1')
  for (const d of [ids.blocked1, ids.blocked2]) {
    await cache.lpush(
      `${s.prefix}tenant_self_document_indexing_task_queue:${t2}`,
      JSON.stringify({ data: { tenant_id: t2, dataset_id: ids.dsB, document_ids: [d] } }),
    )
  }
  // running: a slow task the worker holds
  await broker.sadd(`${s.prefix}slow`, ids.dsS)
  w = await startWorker(c, ['priority_dataset'], {
    app: 'dify_documents_app',
    concurrency: 2,
    env: { DOPS_CACHE_URL: `redis://${REDIS.host}:${REDIS.port}/0`, DOPS_CACHE_PREFIX: s.prefix },
  })
  delay([
    {
      task: PRIORITY_TASK,
      kwargs: { tenant_id: seeders.t3.tenantId, dataset_id: ids.dsS, document_ids: [ids.running] },
    },
  ])
  await waitFor(
    async () => (await recorded()).some((r) => r.kwargs.dataset_id === ids.dsS),
    15_000,
    'the slow task to start',
  )
}, 120_000)

afterAll(async () => {
  await w?.kill()
  await client?.end()
  cache?.disconnect()
  broker?.disconnect()
  await s?.drop()
  await db?.drop()
})

describe('documents stuck', () => {
  it('classifies queued, running, blocked, orphaned and failed-silently documents; exit 8', async () => {
    const r = await cli(['stuck', '--json'])
    expect(r.code, r.stderr).toBe(8)
    const cls = Object.fromEntries(
      (r.json as { documents: Array<{ id: string; class: string }> }).documents.map((d) => [d.id, d.class]),
    )
    expect(cls).toEqual({
      [ids.orphan1!]: 'orphaned',
      [ids.orphan2!]: 'orphaned',
      [ids.failed!]: 'failed-silently',
      [ids.queued!]: 'queued',
      [ids.blocked1!]: 'blocked',
      [ids.blocked2!]: 'blocked',
      [ids.running!]: 'running',
      [ids.behind!]: 'queued',
      [ids.paused!]: 'paused',
      [ids.unacked!]: 'queued',
    })
    const j = r.json as {
      documents: Array<{ id: string; work: Array<Record<string, unknown>>; segments: unknown }>
      counts: Record<string, number>
      tenantQueues: unknown[]
      verdicts: Array<{ class: string; next: string }>
    }
    const doc = (id: string) => j.documents.find((d) => d.id === id)!
    expect(doc(ids.queued!).work[0]).toMatchObject({
      kind: 'queue',
      task: LEGACY_TASK,
      queue: 'dataset',
      priority: 0,
      position: 1,
    })
    expect(doc(ids.running!).work[0]).toMatchObject({
      kind: 'worker',
      task: PRIORITY_TASK,
      node: w.node,
      state: 'active',
    })
    expect(doc(ids.blocked1!).work[0]).toMatchObject({
      kind: 'tenant-queue',
      tenantQueue: 'document_indexing',
      position: 1,
      flag: true,
      state: 'stale',
    })
    expect(doc(ids.blocked2!).work[0]).toMatchObject({ position: 2 })
    expect(doc(ids.failed!).segments).toEqual({ total: 2, byStatus: { completed: 2 } })
    expect(doc(ids.behind!).work[0]).toMatchObject({
      kind: 'tenant-queue',
      position: 1,
      flag: true,
      state: 'in-flight',
    })
    expect(doc(ids.unacked!).work[0]).toMatchObject({ kind: 'unacked', task: PRIORITY_TASK, queue: 'priority_dataset' })
    expect(j.counts).toMatchObject({ queued: 3, running: 1, blocked: 2, orphaned: 2, 'failed-silently': 1, paused: 1 })
    expect(j.tenantQueues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          tenantId: seeders.t2.tenantId,
          uniqueKey: 'document_indexing',
          length: 2,
          flag: true,
          stale: true,
        }),
        expect.objectContaining({
          tenantId: seeders.t3.tenantId,
          uniqueKey: 'document_indexing',
          length: 1,
          flag: true,
          inFlight: true,
          stale: false,
        }),
        expect.objectContaining({
          tenantId: seeders.t1.tenantId,
          uniqueKey: 'duplicate_document_indexing',
          length: 0,
          flag: true,
          stale: true,
        }),
      ]),
    )
    expect(j.verdicts.find((v) => v.class === 'orphaned')!.next).toBe(`dify documents requeue --dataset ${ids.dsA}`)
  })

  it('human output: one verdict line per class with the next command', async () => {
    const r = await cli(['stuck', '--dataset', ids.dsA!, '--timeout', '0'])
    expect(r.code, r.stderr).toBe(8)
    expect(r.stdout).toMatch(/2 document\(s\) have no message, no task and no flag/)
    expect(r.stdout).toMatch(/next: dify documents requeue --dataset /)
    expect(r.stdout).toMatch(/1 document\(s\) have every segment completed/)
  })

  it('filters: --tenant, --older-than; bad input: unknown dataset 3, non-UUID 2', async () => {
    const t = await cli(['stuck', '--tenant', seeders.t3.tenantId, '--json'])
    expect((t.json as { documents: Array<{ id: string }> }).documents.map((d) => d.id)).toEqual([
      ids.running,
      ids.behind,
    ])
    expect(t.code).toBe(0)
    const old = await cli(['stuck', '--older-than', '1d', '--json', '--timeout', '0'])
    expect(old.code).toBe(0)
    expect((old.json as { documents: unknown[] }).documents).toEqual([])
    expect((await cli(['stuck', '--dataset', randomUUID()])).code).toBe(3)
    const bad = await cli(['stuck', '--dataset', 'not-a-uuid'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/not an id/)
  })
})

describe('documents requeue', () => {
  it('--dry-run writes nothing (Redis and database compared before and after)', async () => {
    const redisBefore = await snapshotRedis()
    const dbBefore = await snapshotDb()
    const r = await cli(['requeue', '--dry-run', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const j = r.json as { dryRun: boolean; actions: Array<{ kind: string; documentIds: string[] }> }
    expect(j.dryRun).toBe(true)
    expect(j.actions.map((a) => [a.kind, a.documentIds.sort()])).toHaveLength(3)
    expect(j.actions.map((a) => [a.kind, a.documentIds.sort()])).toEqual(
      expect.arrayContaining([
        ['dispatch', [ids.orphan1, ids.orphan2].sort()],
        ['tenant-queue', [ids.blocked1, ids.blocked2].sort()],
        ['tenant-queue', []],
      ]),
    )
    expect(await snapshotRedis()).toEqual(redisBefore)
    expect(await snapshotDb()).toEqual(dbBefore)
  })

  it('without --yes and no terminal: exit 2 naming --yes', async () => {
    const r = await cli(['requeue'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--yes/)
  })

  it("dispatches exactly the orphaned and blocked documents, each once, decoded by Celery as Dify's .delay() call", async () => {
    const before = (await recorded()).length
    const r = await cli(['requeue', '--yes', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const calls = await waitFor(
      async () => {
        const all = (await recorded()).slice(before)
        return all.length >= 3 ? all : null
      },
      20_000,
      'three task calls',
    )
    await new Promise((res) => setTimeout(res, 1500)) // nothing more may come
    const all = (await recorded()).slice(before)
    expect(all).toHaveLength(3)
    expect(
      calls!.every((x) => x.task === PRIORITY_TASK && x.routing_key === 'priority_dataset' && x.args.length === 0),
    ).toBe(true)
    const byDocs = all.map((x) => x.kwargs).sort((a, b) => String(a.document_ids).localeCompare(String(b.document_ids)))
    const t1 = seeders.t1.tenantId
    const t2 = seeders.t2.tenantId
    const expected = [
      { tenant_id: t1, dataset_id: ids.dsA, document_ids: [ids.orphan1, ids.orphan2] },
      { tenant_id: t2, dataset_id: ids.dsB, document_ids: [ids.blocked1] },
      { tenant_id: t2, dataset_id: ids.dsB, document_ids: [ids.blocked2] },
    ].sort((a, b) => String(a.document_ids).localeCompare(String(b.document_ids)))
    expect(byDocs).toEqual(expected)
    // the chain ended: tenant queue empty, flag deleted; the queued message is still there; nothing for the running one
    expect(await cache.llen(`${s.prefix}tenant_self_document_indexing_task_queue:${t2}`)).toBe(0)
    expect(await cache.exists(`${s.prefix}tenant_document_indexing_task:${t2}`)).toBe(0)
    expect(await broker.llen(`${s.prefix}dataset`)).toBe(1)
    expect(
      all.some((x) =>
        [ids.running, ids.behind, ids.paused, ids.queued, ids.failed, ids.unacked].some((d) =>
          (x.kwargs.document_ids as string[]).includes(d!),
        ),
      ),
    ).toBe(false)
    // the live tenant's flag and queue are untouched
    const t3 = seeders.t3.tenantId
    expect(await cache.exists(`${s.prefix}tenant_document_indexing_task:${t3}`)).toBe(1)
    expect(await cache.llen(`${s.prefix}tenant_self_document_indexing_task_queue:${t3}`)).toBe(1)
    const j = r.json as { counts: Record<string, number>; skipped: Array<{ id: string; class: string }> }
    expect(j.counts).toMatchObject({ dispatched: 2, documents: 4, flagsCleared: 1 })
    expect(await cache.exists(`${s.prefix}tenant_duplicate_document_indexing_task:${t1}`)).toBe(0)
    expect(Object.fromEntries(j.skipped.map((x) => [x.id, x.class]))).toEqual({
      [ids.running!]: 'running',
      [ids.behind!]: 'queued',
      [ids.queued!]: 'queued',
      [ids.failed!]: 'failed-silently',
      [ids.paused!]: 'paused',
      [ids.unacked!]: 'queued',
    })
    // a second run finds nothing more to dispatch for those (their work is gone from Redis, they show orphaned
    // again only because the fake task does not update the database) — so mark them instead
  }, 60_000)

  it('--mark-error sets orphaned and failed-silently documents to error with a message', async () => {
    const r = await cli(['requeue', '--mark-error', '--document', ids.failed!, '--yes', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const row = (
      await client.query('select indexing_status, error, stopped_at from documents where id = $1', [ids.failed])
    ).rows[0]
    expect(row.indexing_status).toBe('error')
    expect(row.error).toMatch(/dify-ops/)
    expect(row.stopped_at).not.toBeNull()
    const q = await cli(['requeue', '--mark-error', '--document', ids.queued!, '--yes', '--json'])
    expect(q.code).toBe(0)
    expect(q.json as { actions: unknown[]; skipped: Array<{ class: string }> }).toMatchObject({
      actions: [],
      skipped: [{ class: 'queued' }],
    })
    expect((await cli(['requeue', '--document', randomUUID(), '--yes'])).code).toBe(3)
  })
})

describe('the message written', () => {
  it('is byte-for-byte what Celery .delay() writes, but for ids, origin and the Celery >= 5.3 headers', async () => {
    const prefix = `${s.prefix}ref:`
    const kwargs = { tenant_id: seeders.t1.tenantId, dataset_id: ids.dsA, document_ids: [ids.orphan1, 'ü-"quoted"'] }
    delay([{ task: PRIORITY_TASK, kwargs }], prefix)
    delay([{ task: LEGACY_TASK, args: [ids.dsA, [ids.orphan1]] }], prefix)
    const theirs = [
      (await broker.lrange(`${prefix}priority_dataset`, 0, -1))[0]!,
      (await broker.lrange(`${prefix}dataset`, 0, -1))[0]!,
    ]
    const calls = [
      { task: PRIORITY_TASK, queue: 'priority_dataset', args: [], kwargs },
      { task: LEGACY_TASK, queue: 'dataset', args: [ids.dsA, [ids.orphan1]], kwargs: {} },
    ]
    theirs.forEach((raw, i) => {
      const t = JSON.parse(raw)
      const ours = buildTaskMessage(calls[i]!, { id: t.headers.id, origin: t.headers.origin })
      // Debian's Celery 5.2.6 has no replaced_task_nesting/stamped_headers/stamps (5.3+, which Dify pins)
      const trimmed = ours.payload
        .replace(', "replaced_task_nesting": 0, "stamped_headers": null, "stamps": {}', '')
        .replace(/"reply_to": "[^"]+"/, `"reply_to": "${t.properties.reply_to}"`)
        .replace(/"delivery_tag": "[^"]+"/, `"delivery_tag": "${t.properties.delivery_tag}"`)
      expect(trimmed).toBe(raw)
    })
  })
})
