/**
 * `documents stuck` / `requeue` beyond first indexing, against a Dify 1.12.1 PostgreSQL schema, the local Redis
 * (cache DB 0, broker DB 1, under this file's scratch prefix), Dify's file storage (OpenDAL fs in a temporary
 * directory) and a real Celery 5.2.6 worker running tasks named and routed like Dify's
 * (test/fixtures/celery/dify_documents_app.py), which records every call it decodes.
 *
 * 1. Messages of every task that re-runs a document (retry, sync-website, recover, notion sync, update, duplicate in
 *    both shapes, add-to-index), written by real Celery `.delay()` with Dify's call shapes: each document is queued.
 * 2. RAG-pipeline documents: the pipeline message names an invoke-entities file (an upload_files row and its stored
 *    object, as FileService.upload_text writes it); the documents inside are queued; a stale pipeline tenant queue
 *    whose entry is such a file → blocked, and requeue pulls it as Dify's task does; a file that cannot be read →
 *    the tenant's pipeline documents are queued (conservative), its other documents stay orphaned.
 * 3. requeue chooses Dify's re-run per document: index (nothing done yet), retry (segments left; a RAG-pipeline
 *    dataset), sync-website (a website-crawl document with segments), recover (a paused document named with
 *    --document), each dispatched exactly once, decoded by the worker as Dify's `.delay()` call.
 */
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../support/cli.js'
import { loadRelease } from '../../support/oracles.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG, PYTHON, REDIS } from '../../support/services.js'
import { CELERY_DIR, celeryEnv, pyEnv, startWorker, waitFor, type Worker } from '../../support/celery.js'
import { DifySeeder } from '../../support/vdb-seed.js'
import { loadConfig } from '../../../src/config/schema.js'
import { Runtime } from '../../../src/runtime/index.js'
import { documentsDeps } from '../../../src/documents/deps.js'
import { findStuck } from '../../../src/documents/stuck.js'

const T = (m: string, f = m) => `tasks.${m}.${f}`
const TASKS = {
  priorityIndex: T('document_indexing_task', 'priority_document_indexing_task'),
  retry: T('retry_document_indexing_task'),
  syncWebsite: T('sync_website_document_indexing_task'),
  recover: T('recover_document_indexing_task'),
  notionSync: T('document_indexing_sync_task'),
  update: T('document_indexing_update_task'),
  duplicate: T('duplicate_document_indexing_task'),
  normalDuplicate: T('duplicate_document_indexing_task', 'normal_duplicate_document_indexing_task'),
  addToIndex: T('add_document_to_index_task'),
  pipeline: 'tasks.rag_pipeline.rag_pipeline_run_task.rag_pipeline_run_task',
  priorityPipeline: 'tasks.rag_pipeline.priority_rag_pipeline_run_task.priority_rag_pipeline_run_task',
}

let db: Scratch
let s: ScratchRedis
let w: Worker | undefined
let client: pg.Client
let cache: Redis
let broker: Redis
let env: Record<string, string>
let storageRoot: string
const seed: Record<'t' | 't2' | 't3', DifySeeder> = {} as never
const ids: Record<string, string> = {}

const cli = (args: string[]) => runCli(['documents', ...args], { env, timeoutMs: 90_000 })
function delay(calls: Array<{ task: string; args?: unknown[]; kwargs?: Record<string, unknown> }>): string[] {
  const out = execFileSync(PYTHON, ['dify_delay.py'], {
    cwd: CELERY_DIR,
    env: pyEnv(celeryEnv(s.prefix)),
    input: JSON.stringify(calls),
    encoding: 'utf8',
  })
  return JSON.parse(out.trim().split('\n').pop()!) as string[]
}
interface Recorded {
  task: string
  args: unknown[]
  kwargs: Record<string, unknown>
  routing_key: string
}
const recorded = async (): Promise<Recorded[]> =>
  (await broker.lrange(`${s.prefix}calls`, 0, -1)).map((x) => JSON.parse(x) as Recorded)

async function doc(
  sd: DifySeeder,
  datasetId: string,
  status: string,
  o: { source?: string; info?: string; from?: string; segments?: string[] } = {},
): Promise<string> {
  const id = await sd.document(datasetId, { status })
  await client.query(
    "update documents set data_source_type = $2, data_source_info = $3, created_from = $4, created_at = now() - interval '1 hour' + ($5 || ' seconds')::interval where id = $1",
    [id, o.source ?? 'upload_file', o.info ?? null, o.from ?? 'web', String(Object.keys(ids).length)],
  )
  for (const st of o.segments ?? []) await sd.segment(datasetId, id, `seg ${st}`, { status: st })
  return id
}

/** an invoke-entities file as RagPipelineTaskProxy._upload_invoke_entities stores it (FileService.upload_text) */
async function entitiesFile(tenant: string, userId: string, docs: Array<[string, string]>, store = true) {
  const fileId = randomUUID()
  const key = `upload_files/${tenant}/${randomUUID()}.txt`
  const entities = docs.map(([datasetId, documentId]) => ({
    pipeline_id: randomUUID(),
    application_generate_entity: {
      task_id: randomUUID(),
      app_config: { tenant_id: tenant, app_id: randomUUID(), workflow_id: randomUUID() },
      inputs: {},
      files: [],
      user_id: userId,
      stream: false,
      invoke_from: 'published',
      call_depth: 0,
      workflow_execution_id: randomUUID(),
      datasource_type: 'local_file',
      datasource_info: { related_id: randomUUID(), name: 'ü.pdf' },
      dataset_id: datasetId,
      batch: '20260101000000123456',
      document_id: documentId,
      original_document_id: null,
      start_node_id: '1750000000000',
    },
    user_id: userId,
    tenant_id: tenant,
    workflow_id: randomUUID(),
    streaming: false,
    workflow_execution_id: randomUUID(),
    workflow_thread_pool_id: null,
  }))
  // json.dumps as Python writes it (", " / ": ", ensure_ascii)
  const text = execFileSync(PYTHON, ['-c', 'import json,sys; sys.stdout.write(json.dumps(json.load(sys.stdin)))'], {
    input: JSON.stringify(entities),
    encoding: 'utf8',
  })
  if (store) {
    mkdirSync(join(storageRoot, 'upload_files', tenant), { recursive: true })
    writeFileSync(join(storageRoot, key), text)
  }
  await client.query(
    `insert into upload_files (id, tenant_id, storage_type, key, name, size, extension, mime_type, created_by_role,
       created_by, created_at, used, used_by, used_at, hash, source_url)
     values ($1, $2, 'opendal', $3, 'rag_pipeline_invoke_entities.json', $4, 'txt', 'text/plain', 'account', $5, now(), true, $5, now(), null, '')`,
    [fileId, tenant, key, text.length, userId],
  )
  return fileId
}

const flagKey = (kind: string, id: string) => `${s.prefix}document_${id}_is_${kind}`
const WEB_INFO =
  '{"provider": "firecrawl", "job_id": "j1", "url": "https://exämple.org/ä\\"q", "only_main_content": true, "mode": "crawl"}'

beforeAll(async () => {
  db = await scratchPg('docsrerun')
  await loadRelease(db, 'postgres', '1.12.1')
  s = await scratchRedis('docsrerun')
  storageRoot = mkdtempSync(join(tmpdir(), 'dops-docs-storage-'))
  env = { ...db.env, ...s.env, STORAGE_TYPE: 'opendal', OPENDAL_SCHEME: 'fs', OPENDAL_FS_ROOT: storageRoot }
  client = new pg.Client({ ...PG, database: db.name })
  await client.connect()
  cache = new Redis({ ...REDIS, db: 0 })
  broker = new Redis({ ...REDIS, db: 1 })
  for (const k of ['t', 't2', 't3'] as const) {
    seed[k] = new DifySeeder(client)
    await client.query('insert into tenants (id, name) values ($1, $2)', [seed[k].tenantId, `tenant ${k}`])
    await client.query('insert into accounts (id, name, email) values ($1, $2, $3)', [
      seed[k].userId,
      k,
      `${k}-${seed[k].userId}@example.org`,
    ])
  }
  const t = seed.t
  // 1. queued by a re-run message (dataset Q)
  ids.dsQ = await t.dataset()
  for (const k of ['retryQ', 'syncQ', 'recoverQ', 'notionQ', 'updateQ', 'dupQ', 'dupNQ', 'addQ'])
    ids[k] = await doc(t, ids.dsQ, 'waiting')
  // 2. pipeline: two documents inside one queued run (tenant t); one behind a stale pipeline tenant queue (t2); one
  // whose run's file is gone from the storage (t3), next to an ordinary orphaned document of t3
  ids.dsP = await t.dataset()
  await client.query("update datasets set runtime_mode = 'rag_pipeline' where id = $1", [ids.dsP])
  ids.pipe1 = await doc(t, ids.dsP, 'waiting', { from: 'rag-pipeline', source: 'local_file' })
  ids.pipe2 = await doc(t, ids.dsP, 'waiting', { from: 'rag-pipeline', source: 'local_file' })
  ids.dsP2 = await seed.t2.dataset()
  await client.query("update datasets set runtime_mode = 'rag_pipeline' where id = $1", [ids.dsP2])
  ids.pipe3 = await doc(seed.t2, ids.dsP2, 'waiting', { from: 'rag-pipeline', source: 'local_file' })
  ids.dsP3 = await seed.t3.dataset()
  ids.pipe4 = await doc(seed.t3, ids.dsP3, 'waiting', { from: 'rag-pipeline', source: 'local_file' })
  ids.plain3 = await doc(seed.t3, ids.dsP3, 'waiting')
  // 3. re-runs chosen by requeue (dataset R; dataset RP is a RAG-pipeline dataset)
  ids.dsR = await t.dataset()
  ids.rFresh = await doc(t, ids.dsR, 'waiting')
  ids.rRetry1 = await doc(t, ids.dsR, 'indexing', { segments: ['completed', 'indexing'] })
  ids.rRetry2 = await doc(t, ids.dsR, 'splitting', { segments: ['waiting'] })
  ids.rWeb = await doc(t, ids.dsR, 'splitting', { source: 'website_crawl', info: WEB_INFO, segments: ['indexing'] })
  ids.rPaused = await doc(t, ids.dsR, 'parsing')
  await client.query('update documents set is_paused = true, paused_by = $2, paused_at = now() where id = $1', [
    ids.rPaused,
    t.userId,
  ])
  await cache.setnx(flagKey('paused', ids.rPaused), 'True')
  ids.rFlagged = await doc(t, ids.dsR, 'indexing', { segments: ['indexing'] })
  await cache.setex(flagKey('retried', ids.rFlagged), 600, '1')
  ids.dsRP = await t.dataset()
  await client.query("update datasets set runtime_mode = 'rag_pipeline' where id = $1", [ids.dsRP])
  ids.rPipe = await doc(t, ids.dsRP, 'waiting', { from: 'rag-pipeline', source: 'local_file' })

  const dsQ = ids.dsQ
  delay([
    { task: TASKS.retry, args: [dsQ, [ids.retryQ], t.userId] },
    { task: TASKS.syncWebsite, args: [dsQ, ids.syncQ] },
    { task: TASKS.recover, args: [dsQ, ids.recoverQ] },
    { task: TASKS.notionSync, args: [dsQ, ids.notionQ] },
    { task: TASKS.update, args: [dsQ, ids.updateQ] },
    { task: TASKS.duplicate, args: [dsQ, [ids.dupQ]] },
    { task: TASKS.normalDuplicate, kwargs: { tenant_id: t.tenantId, dataset_id: dsQ, document_ids: [ids.dupNQ] } },
    { task: TASKS.addToIndex, args: [ids.addQ] },
  ])
  ids.file1 = await entitiesFile(t.tenantId, t.userId, [
    [ids.dsP, ids.pipe1],
    [ids.dsP, ids.pipe2],
  ])
  delay([
    {
      task: TASKS.priorityPipeline,
      kwargs: { rag_pipeline_invoke_entities_file_id: ids.file1, tenant_id: t.tenantId },
    },
  ])
  ids.file2 = await entitiesFile(seed.t2.tenantId, seed.t2.userId, [[ids.dsP2, ids.pipe3]])
  await cache.setex(`${s.prefix}tenant_pipeline_task:${seed.t2.tenantId}`, 3600, '1')
  await cache.lpush(`${s.prefix}tenant_self_pipeline_task_queue:${seed.t2.tenantId}`, ids.file2)
  ids.file3 = await entitiesFile(seed.t3.tenantId, seed.t3.userId, [[ids.dsP3, ids.pipe4]], false)
  delay([
    { task: TASKS.pipeline, kwargs: { rag_pipeline_invoke_entities_file_id: ids.file3, tenant_id: seed.t3.tenantId } },
  ])
}, 120_000)

afterAll(async () => {
  await w?.kill()
  await client?.end()
  cache?.disconnect()
  broker?.disconnect()
  await s?.drop()
  await db?.drop()
  if (storageRoot) rmSync(storageRoot, { recursive: true, force: true })
})

type Doc = { id: string; class: string; reason: string; work: Array<Record<string, unknown>> }

describe('documents stuck: every task that moves a document on, and RAG pipelines', () => {
  let docs: Record<string, Doc>
  let verdicts: Array<{ class: string; next: string | null }>
  beforeAll(async () => {
    const r = await cli(['stuck', '--json', '--timeout', '0'])
    expect(r.code, r.stderr).toBe(8)
    docs = Object.fromEntries((r.json as { documents: Doc[] }).documents.map((d) => [d.id, d]))
    verdicts = (r.json as { verdicts: Array<{ class: string; next: string | null }> }).verdicts
  })

  it('a paused document: its verdict names the requeue that resumes it as Dify does', () => {
    expect(docs[ids.rPaused!]!.class).toBe('paused')
    expect(verdicts.find((v) => v.class === 'paused')!.next).toBe(`dify documents requeue --document ${ids.rPaused}`)
  })

  it('--json is streamed: the exact text of JSON.stringify(result, null, 2), equal to the result object', async () => {
    const r = await cli(['stuck', '--json', '--timeout', '0'])
    const streamed = JSON.parse(r.stdout) as Record<string, unknown>
    expect(r.stdout).toBe(`${JSON.stringify(streamed, null, 2)}\n`)
    const rt = new Runtime(loadConfig({ env, noDotenv: true, cwd: tmpdir() }))
    try {
      const direct = await findStuck(await documentsDeps(rt), { workerTimeoutMs: 0, now: Date.now() })
      // what moves between the two runs: elapsed time, ages, the flags' TTL
      const strip = (x: unknown) =>
        JSON.parse(
          JSON.stringify(x)
            .replace(/"(elapsedMs|ageSeconds|flagTtlSeconds)":\d+/g, '"$1":0')
            .replace(/TTL \d+ s/g, 'TTL n s'),
        ) as unknown
      expect(strip(streamed)).toEqual(strip(direct))
      expect((streamed.documents as unknown[]).length).toBeGreaterThan(15)
    } finally {
      await rt.close()
    }
  })

  it('a message of each re-run task makes its document queued, with that task', () => {
    const expected: Array<[string, string, string]> = [
      ['retryQ', TASKS.retry, 'dataset'],
      ['syncQ', TASKS.syncWebsite, 'dataset'],
      ['recoverQ', TASKS.recover, 'dataset'],
      ['notionQ', TASKS.notionSync, 'dataset'],
      ['updateQ', TASKS.update, 'dataset'],
      ['dupQ', TASKS.duplicate, 'dataset'],
      ['dupNQ', TASKS.normalDuplicate, 'dataset'],
      ['addQ', TASKS.addToIndex, 'dataset'],
    ]
    for (const [k, task, queue] of expected) {
      expect(docs[ids[k]!]!.class, k).toBe('queued')
      expect(docs[ids[k]!]!.work[0]).toMatchObject({ kind: 'queue', task, queue })
    }
  })

  it("pipeline documents are tied to their run's invoke-entities file", () => {
    for (const k of ['pipe1', 'pipe2']) {
      expect(docs[ids[k]!]!.class, k).toBe('queued')
      expect(docs[ids[k]!]!.work[0]).toMatchObject({
        kind: 'queue',
        task: TASKS.priorityPipeline,
        queue: 'priority_pipeline',
        position: 1,
      })
    }
    expect(docs[ids.pipe3!]!.class).toBe('blocked')
    expect(docs[ids.pipe3!]!.work[0]).toMatchObject({
      kind: 'tenant-queue',
      tenantQueue: 'pipeline',
      position: 1,
      flag: true,
      state: 'stale',
    })
  })

  it("a run whose file cannot be read: its tenant's pipeline documents are queued (conservative), the others not", () => {
    expect(docs[ids.pipe4!]!.class).toBe('queued')
    expect(docs[ids.pipe4!]!.reason).toMatch(
      /invoke-entities file cannot be tied to documents: its object .* is not in the storage/,
    )
    expect(docs[ids.plain3!]!.class).toBe('orphaned')
  })
})

describe('documents requeue: the re-run Dify uses for each document', () => {
  const pyDumps = (text: string) =>
    execFileSync(
      PYTHON,
      [
        '-c',
        'import json,sys; d=json.loads(sys.stdin.read()); d["mode"]="scrape"; sys.stdout.write(json.dumps(d, ensure_ascii=False))',
      ],
      { input: text, encoding: 'utf8' },
    )
  const scope = ['--dataset', '', '--dataset', '', '--dataset', '']

  beforeAll(async () => {
    scope[1] = ids.dsR!
    scope[3] = ids.dsRP!
    scope[5] = ids.dsP2!
    // the messages of the stuck tests are not for this worker
    for (const q of ['dataset', 'priority_dataset', 'pipeline', 'priority_pipeline'])
      await broker.del(`${s.prefix}${q}`)
    w = await startWorker(celeryEnv(s.prefix), ['dataset', 'priority_dataset', 'pipeline', 'priority_pipeline'], {
      app: 'dify_documents_app',
      concurrency: 2,
      env: { DOPS_CACHE_URL: `redis://${REDIS.host}:${REDIS.port}/0`, DOPS_CACHE_PREFIX: s.prefix },
    })
  }, 60_000)

  it('--dry-run plans one call per re-run and writes nothing', async () => {
    const before = await client.query(
      'select id, indexing_status, data_source_info, is_paused from documents order by id',
    )
    const r = await cli(['requeue', ...scope, '--dry-run', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const j = r.json as {
      actions: Array<{ task: string; documentIds: string[]; args: unknown[] }>
      skipped: Array<{ id: string; reason: string }>
    }
    expect(j.actions.map((a) => [a.task, a.documentIds]).sort()).toEqual(
      [
        [TASKS.priorityIndex, [ids.rFresh]],
        [TASKS.retry, [ids.rRetry1, ids.rRetry2]],
        [TASKS.syncWebsite, [ids.rWeb]],
        [TASKS.retry, [ids.rPipe]],
        [TASKS.priorityPipeline, [ids.pipe3]],
      ].sort(),
    )
    const skipped = Object.fromEntries(j.skipped.map((x) => [x.id, x.reason]))
    expect(skipped[ids.rFlagged!]).toMatch(/retry flag of this document is set/)
    expect(skipped[ids.rPaused!]).toMatch(/name it with --document/)
    expect(
      (await client.query('select id, indexing_status, data_source_info, is_paused from documents order by id')).rows,
    ).toEqual(before.rows)
    expect(await cache.exists(flagKey('retried', ids.rRetry1!), flagKey('sync', ids.rWeb!))).toBe(0)
    expect(await cache.llen(`${s.prefix}tenant_self_pipeline_task_queue:${seed.t2.tenantId}`)).toBe(1)
  })

  it('dispatches each document exactly once, with the task call Dify .delay()s for its situation', async () => {
    const before = (await recorded()).length
    const r = await cli(['requeue', ...scope, '--yes', '--json'])
    expect(r.code, r.stderr).toBe(0)
    await waitFor(async () => ((await recorded()).length - before >= 5 ? true : null), 20_000, 'five task calls')
    await new Promise((res) => setTimeout(res, 1500)) // nothing more may come
    const calls = (await recorded())
      .slice(before)
      .map(({ task, args, kwargs, routing_key }) => ({ task, args, kwargs, routing_key }))
    const t = seed.t
    const key = (c: { task: string; args: unknown[]; kwargs: unknown }) => JSON.stringify(c)
    expect(calls.map(key).sort()).toEqual(
      [
        {
          task: TASKS.priorityIndex,
          args: [],
          kwargs: { tenant_id: t.tenantId, dataset_id: ids.dsR, document_ids: [ids.rFresh] },
          routing_key: 'priority_dataset',
        },
        {
          task: TASKS.retry,
          args: [ids.dsR, [ids.rRetry1, ids.rRetry2], t.userId],
          kwargs: {},
          routing_key: 'dataset',
        },
        { task: TASKS.syncWebsite, args: [ids.dsR, ids.rWeb], kwargs: {}, routing_key: 'dataset' },
        { task: TASKS.retry, args: [ids.dsRP, [ids.rPipe], t.userId], kwargs: {}, routing_key: 'dataset' },
        {
          task: TASKS.priorityPipeline,
          args: [],
          kwargs: { rag_pipeline_invoke_entities_file_id: ids.file2, tenant_id: seed.t2.tenantId },
          routing_key: 'priority_pipeline',
        },
      ]
        .map(key)
        .sort(),
    )
    // what DocumentService writes first: status waiting, the flags (600 s), the website info in scrape mode
    const rows = Object.fromEntries(
      (await client.query('select id, indexing_status, data_source_info from documents')).rows.map((x) => [x.id, x]),
    )
    for (const k of ['rRetry1', 'rRetry2', 'rWeb', 'rPipe']) expect(rows[ids[k]!].indexing_status, k).toBe('waiting')
    expect(rows[ids.rWeb!].data_source_info).toBe(pyDumps(WEB_INFO))
    for (const k of ['rRetry1', 'rRetry2', 'rPipe']) {
      const ttl = await cache.ttl(flagKey('retried', ids[k]!))
      expect(ttl, k).toBeGreaterThan(590)
      expect(ttl).toBeLessThanOrEqual(600)
    }
    expect(await cache.get(flagKey('sync', ids.rWeb!))).toBe('1')
    // the pipeline tenant queue was pulled as Dify's task does: entry taken, running flag set again
    expect(await cache.llen(`${s.prefix}tenant_self_pipeline_task_queue:${seed.t2.tenantId}`)).toBe(0)
    expect(await cache.ttl(`${s.prefix}tenant_pipeline_task:${seed.t2.tenantId}`)).toBeGreaterThan(3500)
    // the flagged and the paused documents were left alone
    expect(rows[ids.rFlagged!].indexing_status).toBe('indexing')
    expect(
      calls.some((c) => JSON.stringify(c).includes(ids.rFlagged!) || JSON.stringify(c).includes(ids.rPaused!)),
    ).toBe(false)
  }, 60_000)

  it('a paused document named with --document is resumed as Dify does (recover)', async () => {
    const before = (await recorded()).length
    const r = await cli(['requeue', '--document', ids.rPaused!, '--yes', '--json'])
    expect(r.code, r.stderr).toBe(0)
    await waitFor(async () => ((await recorded()).length > before ? true : null), 20_000, 'the recover call')
    await new Promise((res) => setTimeout(res, 1000))
    const calls = (await recorded()).slice(before)
    expect(calls.map(({ task, args, kwargs, routing_key }) => ({ task, args, kwargs, routing_key }))).toEqual([
      { task: TASKS.recover, args: [ids.dsR, ids.rPaused], kwargs: {}, routing_key: 'dataset' },
    ])
    const row = (
      await client.query('select is_paused, paused_by, paused_at from documents where id = $1', [ids.rPaused])
    ).rows[0]
    expect(row).toEqual({ is_paused: false, paused_by: null, paused_at: null })
    expect(await cache.exists(flagKey('paused', ids.rPaused!))).toBe(0)
  }, 60_000)
})
