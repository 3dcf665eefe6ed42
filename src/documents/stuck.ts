/**
 * `dify documents stuck`: every document whose indexing_status is not terminal, with its segments' states, and the
 * work that should move it on — a Celery message in the dataset/pipeline queues (every priority list), an `unacked`
 * entry, a task a live worker holds (pidbox), or an entry of Dify's tenant-isolated task queue and its running flag
 * — then one class per document (docs/documents.md). Reads only (the pidbox broadcast's reply keys are removed).
 */
import { isAscii } from 'node:buffer'
import type { Redis } from 'ioredis'
import { sql } from 'kysely'
import type { Db } from '../core/db.js'
import type { Broker } from '../queues/broker.js'
import { queueLists } from '../queues/broker.js'
import { decodeBase64, parseEnvelope } from '../queues/message.js'
import { parseTolerant } from '../queues/pyjson.js'
import { listUnacked } from '../queues/unacked.js'
import { inspectWorkers } from '../queues/workers.js'
import { NotFoundError } from '../core/errors.js'
import type { Storage } from '../runtime/storage.js'
import {
  bindTaskArgs,
  documentIdsOf,
  PIPELINE_CREATED_FROM,
  PIPELINE_FILE_PARAM,
  pipelineEntityDocuments,
  tenantQueueKeys,
  TERMINAL_STATUSES,
  type IndexingFacts,
  type IndexingTask,
} from '../dify/indexing-tasks.js'

export const CLASSES = ['running', 'queued', 'blocked', 'failed-silently', 'orphaned', 'paused'] as const
export type StuckClass = (typeof CLASSES)[number]

export interface Work {
  kind: 'worker' | 'queue' | 'unacked' | 'tenant-queue'
  task: string | null
  taskId: string | null
  queue: string | null
  /** priority list (0, 3, 6, 9) for kind queue */
  priority: number | null
  /** 1 = next to be taken (kind queue: within the queue, bare list first; tenant-queue: next RPOP) */
  position: number | null
  /** worker node and state (active, reserved, scheduled) for kind worker */
  node: string | null
  state: string | null
  /** tenant-queue: the unique key (document_indexing, …), the flag and its TTL */
  tenantQueue: string | null
  flag: boolean | null
  flagTtlSeconds: number | null
}

export interface StuckDocument {
  id: string
  datasetId: string
  tenantId: string
  name: string
  indexingStatus: string
  isPaused: boolean
  createdAt: string | null
  /** the latest of created_at, processing_started_at and the parsing/cleaning/splitting completion times */
  lastProgressAt: string | null
  ageSeconds: number | null
  segments: { total: number; byStatus: Record<string, number> }
  class: StuckClass
  reason: string
  work: Work[]
}

export interface TenantQueueState {
  tenantId: string
  uniqueKey: string
  length: number
  flag: boolean
  flagTtlSeconds: number | null
  /** a live worker holds, or the broker holds a message of, this tenant's isolated task */
  inFlight: boolean
  stale: boolean
}

export interface Verdict {
  class: StuckClass
  count: number
  line: string
  next: string | null
}

export interface StuckResult {
  version: string | null
  olderThanSeconds: number | null
  documents: StuckDocument[]
  counts: Record<StuckClass, number>
  verdicts: Verdict[]
  tenantQueues: TenantQueueState[]
  workers: { asked: boolean; receivers: number; nodes: string[] }
  scanned: { messages: number; unacked: number }
  problems: boolean
  elapsedMs: number
}

export interface StuckDeps {
  db: Db
  broker: Broker
  /** Dify's cache Redis (tenant queues) and its key prefix */
  redis: Redis
  redisPrefix: string
  facts: IndexingFacts
  version: string | null
  /** Dify's file storage, opened only when a pipeline run's invoke-entities file must be read */
  storage?: () => Promise<Storage>
}

export interface StuckInput {
  datasets?: string[]
  tenants?: string[]
  documents?: string[]
  olderThanSeconds?: number
  workerTimeoutMs: number
  now?: number
  signal?: AbortSignal
}

interface DocRow {
  id: string
  dataset_id: string
  tenant_id: string
  name: string
  indexing_status: string
  /** boolean on PostgreSQL, 0/1 on MySQL */
  is_paused: boolean | number | null
  /** timestamps as text (see stampOf) */
  created_at: string | Date | null
  position: number | string
  last_progress: string | Date | null
  created_from: string | null
}

const PROGRESS_COLUMNS = [
  'processing_started_at',
  'parsing_completed_at',
  'cleaning_completed_at',
  'splitting_completed_at',
] as const

const textType = (db: Db) => sql.raw(db.dialect === 'postgres' ? 'text' : 'char')

/** A timestamp as `Date` reads it: its ISO text and its time in ms. */
export interface Stamp {
  iso: string
  ms: number
}
const digits = (s: string, from: number, to: number) => {
  let n = 0
  for (let i = from; i < to; i++) n = n * 10 + s.charCodeAt(i) - 48
  return n
}
const PLAIN_TIMESTAMP = /^[1-9]\d{3}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?$/
/**
 * A `timestamp without time zone` / DATETIME read as text ("2024-05-01 12:00:00.123456", UTC as everywhere in
 * dify-ops), as the database driver's Date and its toISOString() would give it (milliseconds truncated), without
 * either: Date parsing and toISOString (which formats through printf) were ~10 % of the instructions at 100 000
 * documents. Any other text goes through Date, as the drivers' parsers do.
 */
export function stampOf(v: string | Date | null): Stamp | null {
  if (v === null) return null
  if (typeof v === 'string' && PLAIN_TIMESTAMP.test(v)) {
    const frac = v.length > 20 ? v.slice(20, 23).padEnd(3, '0') : '000'
    const ms = Date.UTC(
      digits(v, 0, 4),
      digits(v, 5, 7) - 1,
      digits(v, 8, 10),
      digits(v, 11, 13),
      digits(v, 14, 16),
      digits(v, 17, 19),
      digits(frac, 0, 3),
    )
    const iso = `${v.slice(0, 10)}T${v.slice(11, 19)}.${frac}Z`
    // read one character: V8 then flattens the concatenation (a tree of 4 parts, ~4× the memory of the 24
    // characters, kept for every document otherwise)
    iso.charCodeAt(0)
    return { iso, ms }
  }
  const d = v instanceof Date ? v : new Date(`${v.replace(' ', 'T')}Z`)
  return { iso: d.toISOString(), ms: d.getTime() }
}
const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi
const UUID_ONE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Ids that must exist: unknown dataset, tenant or document → NotFoundError (exit 3). */
async function checkExists(db: Db, input: StuckInput): Promise<void> {
  const k = db.kysely
  const missing = async (
    table: 'datasets' | 'tenants' | 'documents',
    ids: string[] | undefined,
    what: string,
    hint: string,
  ) => {
    if (!ids?.length) return
    const found = new Set(
      (await k.selectFrom(table).select('id').where('id', 'in', ids).execute()).map((r) => String(r.id)),
    )
    const gone = ids.filter((i) => !found.has(i))
    if (gone.length) throw new NotFoundError(`No ${what} has the id ${gone.join(', ')}.`, { hint })
  }
  await missing(
    'datasets',
    input.datasets,
    'dataset (knowledge base)',
    'List them with: SELECT id, name, tenant_id FROM datasets;',
  )
  await missing('tenants', input.tenants, 'tenant (workspace)', 'List them with: SELECT id, name FROM tenants;')
  await missing('documents', input.documents, 'document', 'List the stuck ones with: dify documents stuck')
}

/** Documents are read in pages of this many (keyset on id), so their rows never all sit in memory at once. */
export const PAGE = 2_500

/** The filters of `stuck` on a query over `documents` (Kysely's builder types are too deep to spell here). */
function filtered<Q>(q: Q, input: StuckInput): Q {
  type W = { where: (col: string, op: string, v: unknown) => W }
  let x = (q as unknown as W).where('indexing_status', 'not in', [...TERMINAL_STATUSES])
  if (input.datasets?.length) x = x.where('dataset_id', 'in', input.datasets)
  if (input.tenants?.length) x = x.where('tenant_id', 'in', input.tenants)
  if (input.documents?.length) x = x.where('id', 'in', input.documents)
  return x as unknown as Q
}

/** The tenants that have a non-terminal document (with the filters). */
async function stuckTenants(db: Db, input: StuckInput): Promise<string[]> {
  const rows = await filtered(db.kysely.selectFrom('documents').select('tenant_id').distinct(), input).execute()
  return rows.map((r) => String(r.tenant_id)).sort()
}

/** One page of non-terminal documents after `after` (by id). */
async function loadDocuments(db: Db, input: StuckInput, after: string | null): Promise<DocRow[]> {
  let q = filtered(
    db.kysely
      .selectFrom('documents')
      .select(['id', 'dataset_id', 'tenant_id', 'name', 'indexing_status', 'is_paused', 'position', 'created_from'])
      // timestamps as text: formatted and compared below without a Date each (stampOf)
      .select(sql<string | null>`cast(created_at as ${textType(db)})`.as('created_at'))
      // the last progress Dify recorded, computed by the server (one value per row instead of five); coalesce
      // because MySQL's GREATEST is NULL when any argument is; NULL when it is created_at (one timestamp less to
      // parse: most stuck documents never progressed)
      .select(
        sql<
          string | null
        >`cast(nullif(greatest(created_at, ${sql.join(PROGRESS_COLUMNS.map((c) => sql`coalesce(${sql.ref(c)}, created_at)`))}), created_at) as ${textType(db)})`.as(
          'last_progress',
        ),
      ),
    input,
  )
  if (after !== null) q = q.where('id', '>', after)
  return (await q.orderBy('id').limit(PAGE).execute()) as unknown as DocRow[]
}

/** The segments' states of a page of documents, grouped. */
async function loadSegments(db: Db, rows: DocRow[]) {
  // PostgreSQL: the page's ids as one array parameter (2 500 bind parameters cost the client more than the query)
  const inPage =
    db.dialect === 'postgres'
      ? sql<boolean>`document_id = any(cast(${`{${rows.map((r) => r.id).join(',')}}`} as uuid[]))`
      : sql<boolean>`document_id in (${sql.join(rows.map((r) => r.id))})`
  const segs = await db.kysely
    .selectFrom('document_segments')
    .select(['document_id', 'status', sql<number>`count(*)`.as('n')])
    .where(inPage)
    .groupBy(['document_id', 'status'])
    .execute()
  return segs as Array<{ document_id: string; status: string; n: number | string }>
}

/** The task call of a raw envelope when it is one of the release's indexing tasks. */
function taskCallOf(
  env: Record<string, unknown>,
  byName: Map<string, IndexingTask>,
): { task: IndexingTask; id: string | null; bound: Record<string, unknown> } | null {
  const headers = (env.headers && typeof env.headers === 'object' ? env.headers : {}) as Record<string, unknown>
  const props = (env.properties && typeof env.properties === 'object' ? env.properties : {}) as Record<string, unknown>
  let taskName = typeof headers.task === 'string' ? headers.task : null
  let id = typeof headers.id === 'string' ? headers.id : null
  let body: unknown
  const raw = typeof env.body === 'string' ? env.body : null
  if (raw === null) return null
  if (taskName !== null && !byName.has(taskName)) return null
  const ct = String(env['content-type'] ?? '').toLowerCase()
  if (!ct.includes('json') || headers.compression) return null
  const bytes = props.body_encoding === 'base64' ? decodeBase64(raw) : Buffer.from(raw, 'utf8')
  if (!bytes) return null
  try {
    // kombu writes ensure_ascii JSON: ASCII bytes read as Latin-1 are the same text, without UTF-8 decoding
    body = parseTolerant(bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8'))
  } catch {
    return null
  }
  let args: unknown
  let kwargs: unknown
  if (taskName !== null) {
    if (!Array.isArray(body)) return null
    ;[args, kwargs] = body
  } else {
    // protocol 1: the body is the task dict
    const b = body as Record<string, unknown> | null
    if (!b || typeof b.task !== 'string' || !byName.has(b.task)) return null
    taskName = b.task
    id = typeof b.id === 'string' ? b.id : null
    args = b.args
    kwargs = b.kwargs
  }
  const task = byName.get(taskName)!
  return { task, id, bound: bindTaskArgs(task, args, kwargs) }
}

const NO_WORK: Work[] = []
/** pipeline work whose invoke-entities file could not be read, with why: a conservative link (classify) */
const UNRESOLVED = new WeakMap<Work, string>()

/** The document ids of each pipeline invoke-entities file: upload_files row → stored object → entities. */
async function readPipelineFiles(
  deps: StuckDeps,
  fileIds: string[],
): Promise<Map<string, { docs: string[] } | { problem: string }>> {
  const out = new Map<string, { docs: string[] } | { problem: string }>()
  const ids = [...new Set(fileIds)].filter((x) => UUID_ONE.test(x))
  for (const x of fileIds) if (!UUID_ONE.test(x)) out.set(x, { problem: 'the file id is not a uuid' })
  const keys = new Map<string, string>()
  for (let i = 0; i < ids.length; i += 5000) {
    const rows = await deps.db.kysely
      .selectFrom('upload_files')
      .select(['id', 'key'])
      .where('id', 'in', ids.slice(i, i + 5000))
      .execute()
    for (const r of rows) keys.set(String(r.id), String(r.key))
  }
  let storage: Storage | undefined
  let storageProblem: string | undefined
  const todo = ids.filter((id) => {
    if (keys.has(id)) return true
    out.set(id, { problem: 'no upload_files row has this id' })
    return false
  })
  if (todo.length) {
    try {
      if (!deps.storage) throw new Error('no storage configured')
      storage = await deps.storage()
    } catch (e) {
      storageProblem = `the storage cannot be opened (${(e as Error).message.split('\n')[0]})`
    }
  }
  // a few reads at a time; each file is parsed and dropped at once
  let next = 0
  const worker = async () => {
    while (next < todo.length) {
      const id = todo[next++]!
      if (!storage) {
        out.set(id, { problem: storageProblem! })
        continue
      }
      try {
        const buf = await storage.readIfExists(keys.get(id)!)
        if (!buf) out.set(id, { problem: `its object ${keys.get(id)} is not in the storage` })
        else out.set(id, { docs: pipelineEntityDocuments(buf.toString('utf8')).map((d) => d.documentId) })
      } catch (e) {
        out.set(id, { problem: `its object cannot be read (${(e as Error).message.split('\n')[0]})` })
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  return out
}
const emptyWork = (): Work => ({
  kind: 'queue',
  task: null,
  taskId: null,
  queue: null,
  priority: null,
  position: null,
  node: null,
  state: null,
  tenantQueue: null,
  flag: null,
  flagTtlSeconds: null,
})

export async function findStuck(deps: StuckDeps, input: StuckInput): Promise<StuckResult> {
  const started = Date.now()
  const now = input.now ?? Date.now()
  await checkExists(deps.db, input)
  const facts = deps.facts
  const byName = new Map(facts.tasks.map((t) => [t.name, t]))
  // task name → the tenant queue its run pulls from when it ends
  const isolatedTasks = new Map<string, string>()
  for (const k of facts.tenantQueues)
    for (const t of [k.normalTask, k.priorityTask]) if (t) isolatedTasks.set(t, k.uniqueKey)
  const work = new Map<string, Work[]>()
  const add = (docId: string, w: Work) => {
    let l = work.get(docId)
    if (!l) work.set(docId, (l = []))
    l.push(w)
  }
  // "<unique key>:<tenant>" whose isolated task is in flight (a message or a worker holds a normal/priority task)
  const tenantInFlight = new Set<string>()
  // pipeline runs name an invoke-entities file, not documents: resolved once everything is read (step 5)
  const pipelineWork: Array<{ fileId: string; tenantId: string | null; w: Work }> = []
  const notePipeline = (bound: Record<string, unknown>, w: Work): boolean => {
    const fileId = bound[PIPELINE_FILE_PARAM]
    if (typeof fileId !== 'string') return false
    pipelineWork.push({ fileId, tenantId: typeof bound.tenant_id === 'string' ? bound.tenant_id : null, w })
    return true
  }
  const noteTenant = (task: IndexingTask, bound: Record<string, unknown>) => {
    const key = isolatedTasks.get(task.name)
    if (!key) return
    // every task that pulls a tenant queue takes tenant_id
    const t = typeof bound.tenant_id === 'string' ? bound.tenant_id : undefined
    if (t) tenantInFlight.add(`${key}:${t}`)
  }

  // 1. the queues' lists, every priority, in consumption order
  let messages = 0
  for (const queue of facts.queues) {
    let position = 0
    for (const l of queueLists(deps.broker, queue)) {
      const len = await deps.broker.client.llen(l.key)
      const chunk = 500
      // from the tail (next to be taken) towards the head
      for (let end = len; end > 0; end -= chunk) {
        const start = Math.max(0, end - chunk)
        const raws = await deps.broker.client.lrange(l.key, start, end - 1)
        for (let i = raws.length - 1; i >= 0; i--) {
          position++
          messages++
          const p = parseEnvelope(raws[i]!)
          if ('problem' in p) continue
          const call = taskCallOf(p.env, byName)
          if (!call) continue
          noteTenant(call.task, call.bound)
          const w: Work = {
            ...emptyWork(),
            kind: 'queue',
            task: call.task.name,
            taskId: call.id,
            queue,
            priority: l.priority,
            position,
          }
          if (!notePipeline(call.bound, w)) for (const id of documentIdsOf(call.bound)) add(id, w)
        }
      }
    }
  }
  // 2. unacked (reserved by a worker, or left by a dead one until the visibility timeout); added after the workers
  // were asked, so that an entry a live worker reports is counted once, as the worker's
  const unacked = await listUnacked(deps.broker, { keepRaw: true })
  const pendingUnacked: Array<{ ids: string[]; w: Work; bound: Record<string, unknown> }> = []
  for (const e of unacked) {
    if (!e.rawValue) continue
    let v: unknown
    try {
      v = parseTolerant(e.rawValue)
    } catch {
      continue
    }
    if (!Array.isArray(v) || !v[0] || typeof v[0] !== 'object') continue
    const call = taskCallOf(v[0] as Record<string, unknown>, byName)
    if (!call) continue
    noteTenant(call.task, call.bound)
    pendingUnacked.push({
      bound: call.bound,
      ids: documentIdsOf(call.bound),
      w: {
        ...emptyWork(),
        kind: 'unacked',
        task: call.task.name,
        taskId: call.id,
        queue: e.queue,
        state: e.reservedAt,
      },
    })
  }

  // 3. live workers (pidbox): active, reserved, scheduled. Asked last: work moves list → unacked → worker, so
  // a message taken while we read is seen at its next stop, never missed
  let receivers = 0
  const nodes: string[] = []
  const asked = input.workerTimeoutMs > 0
  if (asked) {
    const w = await inspectWorkers(deps.broker, { timeoutMs: input.workerTimeoutMs, signal: input.signal })
    receivers = w.receivers
    for (const node of w.workers) {
      nodes.push(node.node)
      for (const [state, list] of [
        ['active', node.active],
        ['reserved', node.reserved],
        ['scheduled', node.scheduled],
      ] as const) {
        for (const t of list) {
          const task = t.name ? byName.get(t.name) : undefined
          if (!task) continue
          let ids: string[]
          let bound: Record<string, unknown> = {}
          if (typeof t.args === 'string' || typeof t.kwargs === 'string') {
            // older Celery replies carry reprs: take every id in them
            ids = `${String(t.args ?? '')} ${String(t.kwargs ?? '')}`.match(UUID_RE) ?? []
            const tid = /'tenant_id': '([^']+)'/.exec(String(t.kwargs ?? ''))?.[1]
            if (tid) bound = { tenant_id: tid }
            const fid = new RegExp(`'${PIPELINE_FILE_PARAM}': '([^']+)'`).exec(String(t.kwargs ?? ''))?.[1]
            if (fid) bound[PIPELINE_FILE_PARAM] = fid
          } else {
            bound = bindTaskArgs(task, t.args, t.kwargs)
            ids = documentIdsOf(bound)
          }
          noteTenant(task, bound)
          const w: Work = {
            ...emptyWork(),
            kind: 'worker',
            task: task.name,
            taskId: t.id,
            queue: task.queue,
            node: node.node,
            state,
          }
          if (!notePipeline(bound, w)) for (const id of ids) add(id.toLowerCase(), w)
        }
      }
    }
  }

  const heldIds = new Set(
    [...work.values()]
      .flat()
      .filter((w) => w.kind === 'worker')
      .map((w) => w.taskId),
  )
  for (const p of pendingUnacked)
    if (!heldIds.has(p.w.taskId) && !notePipeline(p.bound, p.w)) for (const id of p.ids) add(id, p.w)
  for (let i = pipelineWork.length - 1; i >= 0; i--)
    if (pipelineWork[i]!.w.kind === 'unacked' && heldIds.has(pipelineWork[i]!.w.taskId)) pipelineWork.splice(i, 1)
  // 4. tenant-isolated queues of every tenant with a stuck document
  const tenantQueues: TenantQueueState[] = []
  const tenants = await stuckTenants(deps.db, input)
  const kinds = facts.tenantQueues.filter((k) => k.entry === 'document-task')
  if (tenants.length && facts.tenantQueues.length) {
    const pipe = deps.redis.pipeline()
    for (const t of tenants) {
      for (const k of facts.tenantQueues) {
        const flagKey = tenantQueueKeys.flag(k.uniqueKey, t, deps.redisPrefix)
        pipe
          .exists(flagKey)
          .ttl(flagKey)
          .llen(tenantQueueKeys.queue(k.uniqueKey, t, deps.redisPrefix))
      }
    }
    const res = ((await pipe.exec()) ?? []).map((r) => Number(r[1] ?? 0))
    let i = 0
    for (const t of tenants) {
      for (const k of facts.tenantQueues) {
        const flag = res[i++] === 1
        const ttl = res[i++]!
        const length = res[i++]!
        if (!flag && !length) continue
        const inFlight = tenantInFlight.has(`${k.uniqueKey}:${t}`)
        tenantQueues.push({
          tenantId: t,
          uniqueKey: k.uniqueKey,
          length,
          flag,
          flagTtlSeconds: flag && ttl >= 0 ? ttl : null,
          inFlight,
          stale: !inFlight,
        })
        if (!length) continue
        const entries = await deps.redis.lrange(tenantQueueKeys.queue(k.uniqueKey, t, deps.redisPrefix), 0, -1)
        // the work a tenant-queue entry at `position` (1 = next) stands for
        const queued = (position: number): Work => ({
          ...emptyWork(),
          kind: 'tenant-queue',
          tenantQueue: k.uniqueKey,
          position,
          flag,
          flagTtlSeconds: flag && ttl >= 0 ? ttl : null,
          state: inFlight ? 'in-flight' : 'stale',
        })
        if (!kinds.includes(k)) {
          // pipeline: each entry is the id of an invoke-entities file (queue.py keeps a str as it is)
          entries.forEach((raw, j) =>
            pipelineWork.push({
              fileId: raw,
              tenantId: t,
              w: queued(entries.length - j),
            }),
          )
          continue
        }
        entries.forEach((raw, j) => {
          const ids = tenantEntryDocuments(raw)
          for (const id of ids) {
            add(id, queued(entries.length - j))
          }
        })
      }
    }
  }

  // 5. pipeline runs: the documents of each invoke-entities file; a file that cannot be read leaves its tenant's
  // pipeline documents linked to that work conservatively (queued/blocked, never orphaned)
  const unresolved = new Map<string, Work>()
  if (pipelineWork.length) {
    const files = await readPipelineFiles(
      deps,
      pipelineWork.map((p) => p.fileId),
    )
    for (const p of pipelineWork) {
      const f = files.get(p.fileId)
      if (f && 'docs' in f) {
        for (const id of f.docs) add(id, p.w)
      } else if (p.tenantId && !unresolved.has(p.tenantId)) {
        unresolved.set(p.tenantId, p.w)
        UNRESOLVED.set(p.w, f && 'problem' in f ? f.problem : 'not read')
      }
    }
  }
  // 6. the documents, page by page, classified
  const read: StuckDocument[] = []
  // the sort keys, by index in `read` (plain number arrays: 8 bytes a document, no Map)
  const times: number[] = []
  const positions: number[] = []
  // memory (100 000 documents): repeated ids share one string, documents without segments share one object
  const interned = new Map<string, string>()
  const intern = (x: string) => interned.get(x) ?? (interned.set(x, x), x)
  const noSegments = Object.freeze({ total: 0, byStatus: Object.freeze({}) as Record<string, number> })
  // the next page's documents and this page's segments are asked for before this page is classified: the
  // database works on them (another process, another core) while this one classifies
  const settled = <T>(p: Promise<T>) => (p.catch(() => {}), p)
  let next = settled(loadDocuments(deps.db, input, null))
  for (;;) {
    const rows = await next
    if (!rows.length) break
    const segsRead = settled(loadSegments(deps.db, rows))
    next = settled(
      rows.length < PAGE ? Promise.resolve([]) : loadDocuments(deps.db, input, String(rows[rows.length - 1]!.id)),
    )
    const segs = await segsRead
    const segByDoc = new Map<string, Record<string, number>>()
    for (const x of segs) {
      const m = segByDoc.get(x.document_id) ?? {}
      m[x.status] = (m[x.status] ?? 0) + Number(x.n)
      segByDoc.set(x.document_id, m)
    }
    for (const r of rows) {
      const created = stampOf(r.created_at)
      // NULL when it is created_at (the query)
      const last = r.last_progress === null ? created : stampOf(r.last_progress)
      const ageSeconds = last ? Math.max(0, Math.round((now - last.ms) / 1000)) : null
      if (input.olderThanSeconds !== undefined && ageSeconds !== null && ageSeconds < input.olderThanSeconds) continue
      const byStatus = segByDoc.get(r.id)
      const segments = byStatus ? { total: Object.values(byStatus).reduce((x, n) => x + n, 0), byStatus } : noSegments
      const w =
        work.get(r.id) ??
        (r.created_from === PIPELINE_CREATED_FROM && unresolved.has(r.tenant_id)
          ? [unresolved.get(r.tenant_id)!]
          : NO_WORK)
      const paused = r.is_paused === true || Number(r.is_paused) === 1 || r.indexing_status === 'paused'
      const [cls, reason] = classify(w, { total: segments.total, completed: segments.byStatus.completed ?? 0, paused })
      const createdAt = created?.iso ?? null
      const lastProgressAt = last?.iso ?? null
      const d: StuckDocument = {
        id: r.id,
        datasetId: intern(r.dataset_id),
        tenantId: intern(r.tenant_id),
        name: r.name,
        indexingStatus: intern(r.indexing_status),
        isPaused: paused,
        createdAt,
        lastProgressAt,
        ageSeconds,
        segments,
        class: cls,
        reason,
        work: w,
      }
      read.push(d)
      times.push(created ? created.ms : -Infinity)
      positions.push(Number(r.position))
    }
  }
  // Dify's order: created_at, then position, then id
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
  const documents = Array.from(read.keys())
    .sort((i, j) => times[i]! - times[j]! || positions[i]! - positions[j]! || cmp(read[i]!.id, read[j]!.id))
    .map((i) => read[i]!)
  read.length = 0
  const counts = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<StuckClass, number>
  for (const d of documents) counts[d.class]++
  return {
    version: deps.version,
    olderThanSeconds: input.olderThanSeconds ?? null,
    documents,
    counts,
    verdicts: verdicts(documents, counts),
    tenantQueues,
    workers: { asked, receivers, nodes },
    scanned: { messages, unacked: unacked.length },
    problems: counts.blocked > 0 || counts.orphaned > 0,
    elapsedMs: Date.now() - started,
  }
}

/** Document ids of one tenant-queue entry: TaskWrapper JSON {"data": {document_ids…}}; a raw string has none. */
export function tenantEntryDocuments(raw: string): string[] {
  try {
    const v = parseTolerant(raw) as { data?: Record<string, unknown> } | null
    if (v && typeof v === 'object' && v.data && typeof v.data === 'object') return documentIdsOf(v.data)
  } catch {
    /* a plain file id (pipeline) or a legacy string */
  }
  return []
}

export function classify(w: Work[], s: { total: number; completed: number; paused: boolean }): [StuckClass, string] {
  const problem = w.length === 1 ? UNRESOLVED.get(w[0]!) : undefined
  if (problem !== undefined) {
    const x = w[0]!
    const where =
      x.kind === 'worker'
        ? `${x.task} ${x.state} on ${x.node}`
        : x.kind === 'tenant-queue'
          ? `the tenant queue ${x.tenantQueue} (${x.state})`
          : `${x.task} in ${x.queue ?? 'unacked'}`
    const why = `a pipeline run of its tenant (${where}) whose invoke-entities file cannot be tied to documents: ${problem}; it may carry this document`
    return x.kind === 'tenant-queue' && x.state === 'stale' ? ['blocked', why] : ['queued', why]
  }
  const worker = w.find((x) => x.kind === 'worker')
  if (worker) return ['running', `${worker.task} ${worker.state} on ${worker.node}`]
  const q = w.find((x) => x.kind === 'queue')
  if (q) return ['queued', `${q.task} in ${q.queue} (priority ${q.priority}), position ${q.position}`]
  const u = w.find((x) => x.kind === 'unacked')
  if (u)
    return [
      'queued',
      `${u.task} reserved in unacked since ${u.state} by a worker that no longer reports it: kombu restores it after the visibility timeout`,
    ]
  const t = w.find((x) => x.kind === 'tenant-queue')
  if (t) {
    if (t.state === 'in-flight')
      return ['queued', `in the tenant queue ${t.tenantQueue} at position ${t.position}, behind a running task`]
    return [
      'blocked',
      `in the tenant queue ${t.tenantQueue} at position ${t.position}; ${t.flag ? `the running flag is set (TTL ${t.flagTtlSeconds ?? 'none'} s)` : 'no running flag'} but no worker holds the tenant's task`,
    ]
  }
  if (s.total > 0 && s.completed === s.total)
    return ['failed-silently', `all ${s.total} segments are completed but the document is not`]
  if (s.paused) return ['paused', 'paused in Dify (resume it there)']
  return ['orphaned', 'no message, no task and no tenant-queue entry: nothing will move it on']
}

function verdicts(docs: StuckDocument[], counts: Record<StuckClass, number>): Verdict[] {
  // one pass: the datasets of the blocked and orphaned documents (in order), the first 20 failed-silently and
  // paused documents, the first queued one
  const datasets = { blocked: new Set<string>(), orphaned: new Set<string>() }
  const named = { 'failed-silently': [] as string[], paused: [] as string[] }
  let firstQueued: StuckDocument | undefined
  for (const d of docs) {
    if (d.class === 'blocked' || d.class === 'orphaned') datasets[d.class].add(d.datasetId)
    else if (d.class === 'failed-silently' || d.class === 'paused') {
      if (named[d.class].length < 20) named[d.class].push(d.id)
    } else if (d.class === 'queued') firstQueued ??= d
  }
  const dsFlags = (c: 'blocked' | 'orphaned') => [...datasets[c]].map((d) => ` --dataset ${d}`).join('')
  const docFlags = (c: 'failed-silently' | 'paused') => named[c].map((id) => ` --document ${id}`).join('')
  const firstQueue = firstQueued?.work.find((w) => w.kind === 'queue')?.queue
  const out: Verdict[] = []
  const v = (c: StuckClass, line: string, next: string | null) =>
    counts[c] && out.push({ class: c, count: counts[c], line: `${counts[c]} ${line}`, next })
  v('running', 'document(s) are being indexed by a live worker: wait.', 'dify queue workers')
  v(
    'queued',
    'document(s) wait for a worker in a queue: they will be taken in turn.',
    firstQueue ? `dify queue peek ${firstQueue}` : 'dify queue unacked',
  )
  v(
    'blocked',
    'document(s) wait behind a tenant running flag whose task no worker holds: nothing will pull them.',
    `dify documents requeue${dsFlags('blocked')}`,
  )
  v(
    'orphaned',
    'document(s) have no message, no task and no flag: nothing will move them on.',
    `dify documents requeue${dsFlags('orphaned')}`,
  )
  v(
    'failed-silently',
    'document(s) have every segment completed but are not: the task died after indexing.',
    `dify documents requeue --mark-error${docFlags('failed-silently')}`,
  )
  v(
    'paused',
    'document(s) are paused in Dify: resume them there, or name them to resume them as Dify does (recover).',
    `dify documents requeue${docFlags('paused')}`,
  )
  return out
}
