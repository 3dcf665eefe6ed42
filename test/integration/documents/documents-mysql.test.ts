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
  })
  expect(Date.parse(j.documents[0]!.lastProgressAt)).toBeGreaterThan(Date.now() - 3_600_000)
  expect((await runCli(['documents', 'stuck', '--dataset', randomUUID()], { env })).code).toBe(3)
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
  })
})
