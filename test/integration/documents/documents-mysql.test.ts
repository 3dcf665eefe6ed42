/**
 * `dify documents stuck` and `requeue --mark-error` on MySQL (the project's Dify schema at its window head, built by createDifySchema: the MySQL oracle files of 1.11/1.12 do not load on MariaDB, `uuid_generate_v4()` defaults), without a worker
 * (`--timeout 0`): the same queries as on PostgreSQL, the tinyint is_paused, the server-side last progress.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { runCli } from '../../support/cli.js'
import { createDifySchema } from '../../support/dify-schema.js'
import { scratchMysql, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { REDIS } from '../../support/services.js'
import { DifySeeder } from '../../support/vdb-seed.js'
import { openDb } from '../../../src/runtime/db.js'
import type { Db } from '../../../src/core/db.js'
import { configFromVars } from '../../support/config.js'
import { buildTaskMessage } from '../../../src/documents/celery-message.js'

let db: Scratch
let s: ScratchRedis
let d: Db
let broker: Redis
let env: Record<string, string>
const ids: Record<string, string> = {}
let seedUser: string
const WEB_INFO = '{"provider": "jinareader", "url": "https://ü.example/a", "mode": "crawl", "only_main_content": false}'

beforeAll(async () => {
  db = await scratchMysql('docsmysql')
  s = await scratchRedis('docsmysql')
  env = { ...db.env, ...s.env }
  d = await openDb(configFromVars(db.env).db, { connectTimeoutMs: 5000 })
  await createDifySchema(d)
  broker = new Redis({ ...REDIS, db: 1 })
  const seed = new DifySeeder(d)
  await d.kysely
    .insertInto('tenants')
    .values({ id: seed.tenantId, name: 't' } as never)
    .execute()
  ids.ds = await seed.dataset()
  ids.orphan = await seed.document(ids.ds, { status: 'splitting' })
  ids.queued = await seed.document(ids.ds, { status: 'waiting' })
  ids.paused = await seed.document(ids.ds, { status: 'parsing' })
  await d.kysely.updateTable('documents').set({ is_paused: true }).where('id', '=', ids.paused).execute()
  ids.failed = await seed.document(ids.ds, { status: 'indexing' })
  await seed.segment(ids.ds, ids.failed, 'a', { status: 'completed' })
  const m = buildTaskMessage({
    task: 'tasks.document_indexing_task.priority_document_indexing_task',
    queue: 'priority_dataset',
    args: [],
    kwargs: { tenant_id: seed.tenantId, dataset_id: ids.ds, document_ids: [ids.queued] },
  })
  await broker.lpush(`${s.prefix}${m.list}`, m.payload)
  // re-runs: a document with segments (retry), a crawled page with segments (sync-website); the creator's account
  await d.kysely
    .insertInto('accounts')
    .values({ id: seed.userId, name: 'u', email: `u-${seed.userId}@example.org` } as never)
    .execute()
  ids.retry = await seed.document(ids.ds, { status: 'indexing' })
  await seed.segment(ids.ds, ids.retry, 'r', { status: 'indexing' })
  ids.web = await seed.document(ids.ds, { status: 'splitting' })
  await d.kysely
    .updateTable('documents')
    .set({ data_source_type: 'website_crawl', data_source_info: WEB_INFO } as never)
    .where('id', '=', ids.web)
    .execute()
  await seed.segment(ids.ds, ids.web, 'w', { status: 'indexing' })
  seedUser = seed.userId
}, 120_000)

afterAll(async () => {
  await d?.close()
  broker?.disconnect()
  await s?.drop()
  await db?.drop()
})

it('classifies on MySQL', async () => {
  const r = await runCli(['documents', 'stuck', '--json', '--timeout', '0'], { env })
  expect(r.code, r.stderr).toBe(8)
  const j = r.json as {
    documents: Array<{ id: string; class: string; lastProgressAt: string; segments: { total: number } }>
  }
  expect(Object.fromEntries(j.documents.map((x) => [x.id, x.class]))).toEqual({
    [ids.orphan!]: 'orphaned',
    [ids.queued!]: 'queued',
    [ids.paused!]: 'paused',
    [ids.failed!]: 'failed-silently',
    [ids.retry!]: 'orphaned',
    [ids.web!]: 'orphaned',
  })
  expect(Date.parse(j.documents[0]!.lastProgressAt)).toBeGreaterThan(Date.now() - 3_600_000)
  expect((await runCli(['documents', 'stuck', '--dataset', randomUUID()], { env })).code).toBe(3)
})

it('requeue re-runs on MySQL: retry, sync-website, recover, with the writes Dify makes first', async () => {
  const args = ['--document', ids.retry!, '--document', ids.web!, '--document', ids.paused!]
  const r = await runCli(['documents', 'requeue', ...args, '--yes', '--json', '--timeout', '0.01'], { env })
  expect(r.code, r.stderr).toBe(0)
  const bodies = (await broker.lrange(`${s.prefix}dataset`, 0, -1)).map((x) => {
    const e = JSON.parse(x) as { body: string; headers: { task: string } }
    return [e.headers.task, JSON.parse(Buffer.from(e.body, 'base64').toString('utf8'))[0]]
  })
  expect(bodies.sort()).toEqual(
    [
      ['tasks.recover_document_indexing_task.recover_document_indexing_task', [ids.ds, ids.paused]],
      ['tasks.retry_document_indexing_task.retry_document_indexing_task', [ids.ds, [ids.retry], seedUser]],
      ['tasks.sync_website_document_indexing_task.sync_website_document_indexing_task', [ids.ds, ids.web]],
    ].sort(),
  )
  const rows = Object.fromEntries(
    (
      await d.kysely
        .selectFrom('documents')
        .select(['id', 'indexing_status', 'data_source_info', 'is_paused'])
        .execute()
    ).map((x) => [x.id, x]),
  )
  expect(rows[ids.retry!]!.indexing_status).toBe('waiting')
  expect(rows[ids.web!]!.indexing_status).toBe('waiting')
  expect(rows[ids.web!]!.data_source_info).toBe(
    '{"provider": "jinareader", "url": "https://ü.example/a", "mode": "scrape", "only_main_content": false}',
  )
  expect(Number(rows[ids.paused!]!.is_paused)).toBe(0)
  const cache = new Redis({ ...REDIS, db: 0 })
  try {
    expect(await cache.get(`${s.prefix}document_${ids.retry}_is_retried`)).toBe('1')
    expect(await cache.get(`${s.prefix}document_${ids.web}_is_sync`)).toBe('1')
  } finally {
    cache.disconnect()
  }
})

it('requeue --mark-error on MySQL', async () => {
  const r = await runCli(['documents', 'requeue', '--mark-error', '--yes', '--json', '--timeout', '0.01'], { env })
  expect(r.code, r.stderr).toBe(0)
  const rows = await d.kysely.selectFrom('documents').select(['id', 'indexing_status']).execute()
  const st = Object.fromEntries(rows.map((x) => [x.id, x.indexing_status]))
  expect(st).toEqual({
    [ids.orphan!]: 'error',
    [ids.failed!]: 'error',
    [ids.queued!]: 'waiting',
    [ids.paused!]: 'parsing',
    // queued by the re-runs above
    [ids.retry!]: 'waiting',
    [ids.web!]: 'waiting',
  })
})
