/**
 * `dify documents requeue`: re-dispatch orphaned and blocked documents the way Dify does for the connected release
 * (docs/documents.md "requeue"), or with markError set them to `error`. The plan comes from a fresh `findStuck`
 * (live workers asked), so a document that is queued or running is never dispatched twice.
 *
 * - orphaned: the re-run Dify itself uses for the document's situation (`rerunCall`): a document of a RAG-pipeline
 *   dataset, or one whose earlier run left segments → retry (sync-website for a website-crawl document); none →
 *   the indexing dispatch of a self-hosted install; a paused document named with --document → recover. LPUSHed as
 *   the message `.delay()` writes (celery-message.ts), with the kombu binding `.delay()` declares.
 * - blocked: for each tenant queue whose flag is stale (no worker holds, and no message carries, the tenant's
 *   task), what Dify's task does in its `finally`: take the next entry (RPOP), set the flag (SETEX ttl 1) and delay
 *   the isolated task for it; the task's own `finally` then pulls the rest. When the queue is empty the stale flag
 *   is deleted (compare-free: the flag is only touched when no worker holds the tenant's task).
 */
import type { Redis } from 'ioredis'
import type { Broker } from '../queues/broker.js'
import { bindingMember } from '../queues/broker.js'
import { celeryKeys } from '../dify/keys.js'
import {
  documentFlagKeys,
  PIPELINE_FILE_PARAM,
  RAG_PIPELINE_RUNTIME,
  rerunCall,
  tenantQueueKeys,
  TERMINAL_STATUSES,
  WEBSITE_CRAWL,
  type RerunKind,
} from '../dify/indexing-tasks.js'
import { PartialError } from '../core/errors.js'
import { dumpsPython, parseLossless, parseTolerant } from '../queues/pyjson.js'
import { buildTaskMessage, type TaskCall } from './celery-message.js'
import { findStuck, type StuckDeps, type StuckDocument, type StuckInput, type StuckResult } from './stuck.js'

export interface RequeueAction {
  kind: 'dispatch' | 'tenant-queue' | 'mark-error'
  datasetId: string | null
  tenantId: string
  documentIds: string[]
  /** dispatch / tenant-queue: the call made */
  task: string | null
  queue: string | null
  args: unknown[] | null
  kwargs: Record<string, unknown> | null
  taskId: string | null
  /** tenant-queue: its unique key and what was done with the flag */
  tenantQueue: string | null
  flag: 'set' | 'deleted' | null
  done: boolean
  problem: string | null
}

export interface RequeueResult {
  dryRun: boolean
  markError: boolean
  version: string | null
  actions: RequeueAction[]
  /** documents left alone, with why (queued, running, failed silently, paused, not stuck) */
  skipped: Array<{ id: string; class: string | null; reason: string }>
  counts: { dispatched: number; documents: number; markedError: number; flagsCleared: number; skipped: number }
  stuck: Pick<StuckResult, 'counts' | 'workers'>
}

export const MARK_ERROR_MESSAGE =
  'Marked as error by dify-ops (documents requeue --mark-error): no indexing work was queued or running for this document.'

/** How one planned dispatch is carried out (not part of the JSON): Dify's re-run and what it writes first. */
export interface DispatchStep {
  rerun: RerunKind
  userId: string | null
  /** sync-website: the documents' new data_source_info (mode "scrape"), by id; null leaves it as it is */
  dataSourceInfo: Map<string, string | null>
}

export interface RequeuePlan {
  stuck: StuckResult
  actions: RequeueAction[]
  skipped: RequeueResult['skipped']
  steps: Map<RequeueAction, DispatchStep>
}

interface DocFacts {
  id: string
  data_source_type: string | null
  data_source_info: string | null
  created_by: string | null
  is_paused: boolean | number | null
}

const CHUNK = 5000
const chunks = <T>(xs: T[]) =>
  Array.from({ length: Math.ceil(xs.length / CHUNK) }, (_, i) => xs.slice(i * CHUNK, (i + 1) * CHUNK))

/** The columns the choice of re-run needs, for the target documents only (not part of `stuck`'s result). */
async function docFacts(deps: StuckDeps, docs: StuckDocument[]) {
  const k = deps.db.kysely
  const facts = new Map<string, DocFacts>()
  for (const ids of chunks(docs.map((d) => d.id))) {
    const rows = (await k
      .selectFrom('documents')
      .select(['id', 'data_source_type', 'data_source_info', 'created_by', 'is_paused'])
      .where('id', 'in', ids)
      .execute()) as unknown as DocFacts[]
    for (const r of rows) facts.set(String(r.id), r)
  }
  const pipelineDatasets = new Set<string>()
  if (deps.facts.pipelineDatasets) {
    for (const ids of chunks([...new Set(docs.map((d) => d.datasetId))])) {
      const rows = await k
        .selectFrom('datasets')
        .select('id')
        .where('id', 'in', ids)
        .where('runtime_mode' as never, '=', RAG_PIPELINE_RUNTIME as never)
        .execute()
      for (const r of rows) pipelineDatasets.add(String(r.id))
    }
  }
  return { facts, pipelineDatasets }
}

/**
 * The account a retry runs as (retry_document_indexing_task's user_id, 1.9.0 on): Dify passes the console user;
 * we pass the document's creator when that account exists, else the tenant's owner, else null (no account).
 */
async function retryUsers(deps: StuckDeps, docs: Array<{ doc: StuckDocument; createdBy: string | null }>) {
  const k = deps.db.kysely
  const creators = [...new Set(docs.map((d) => d.createdBy).filter((x): x is string => !!x))]
  const existing = new Set<string>()
  for (const ids of chunks(creators))
    for (const r of await k.selectFrom('accounts').select('id').where('id', 'in', ids).execute())
      existing.add(String(r.id))
  const tenants = [
    ...new Set(docs.filter((d) => !d.createdBy || !existing.has(d.createdBy)).map((d) => d.doc.tenantId)),
  ]
  const owners = new Map<string, string>()
  for (const ids of chunks(tenants))
    for (const r of await k
      .selectFrom('tenant_account_joins')
      .select(['tenant_id', 'account_id'])
      .where('tenant_id', 'in', ids)
      .where('role', '=', 'owner')
      .execute())
      owners.set(String(r.tenant_id), String(r.account_id))
  return (d: { doc: StuckDocument; createdBy: string | null }) =>
    d.createdBy && existing.has(d.createdBy) ? d.createdBy : (owners.get(d.doc.tenantId) ?? null)
}

/** data_source_info as sync_website_document rewrites it: mode "scrape", json.dumps(ensure_ascii=False) */
function scrapeInfo(raw: string | null): string | null {
  if (!raw) return null
  try {
    const v = parseLossless(raw)
    if (!v || typeof v !== 'object' || Array.isArray(v) || !Object.keys(v).length) return null
    ;(v as Record<string, unknown>).mode = 'scrape'
    return dumpsPython(v, { ensureAscii: false })
  } catch {
    return null
  }
}

export async function planRequeue(deps: StuckDeps, input: StuckInput & { markError?: boolean }): Promise<RequeuePlan> {
  const stuck = await findStuck(deps, input)
  const wanted = new Set<string>(input.markError ? ['orphaned', 'blocked', 'failed-silently'] : ['orphaned', 'blocked'])
  const named = new Set(input.documents ?? [])
  const skipped: RequeueResult['skipped'] = []
  const found = new Set(stuck.documents.map((d) => d.id))
  for (const id of named)
    if (!found.has(id))
      skipped.push({ id, class: null, reason: 'not stuck (terminal status, or younger than --older-than)' })
  const targets: StuckDocument[] = []
  for (const d of stuck.documents) {
    // a paused document is resumed (Dify's recover) only when named: pausing was someone's decision
    if (wanted.has(d.class) || (d.class === 'paused' && named.has(d.id) && !input.markError)) targets.push(d)
    else
      skipped.push({
        id: d.id,
        class: d.class,
        reason: d.class === 'paused' ? `${d.reason}; name it with --document to resume it as Dify does` : d.reason,
      })
  }
  const base = {
    task: null,
    queue: null,
    args: null,
    kwargs: null,
    taskId: null,
    tenantQueue: null,
    flag: null,
    done: false,
    problem: null,
  }
  const actions: RequeueAction[] = []
  const steps = new Map<RequeueAction, DispatchStep>()
  if (input.markError) {
    for (const d of targets)
      actions.push({ ...base, kind: 'mark-error', datasetId: d.datasetId, tenantId: d.tenantId, documentIds: [d.id] })
    return { stuck, actions, skipped, steps }
  }
  // orphaned (and named paused) documents: the re-run Dify itself uses for each one's situation
  const rerunDocs = targets.filter((x) => x.class === 'orphaned' || x.class === 'paused')
  const { facts, pipelineDatasets } = await docFacts(deps, rerunDocs)
  const chosen: Array<{ doc: StuckDocument; kind: RerunKind; createdBy: string | null; info: string | null }> = []
  for (const doc of rerunDocs) {
    const f = facts.get(doc.id)
    const kind: RerunKind =
      doc.class === 'paused'
        ? 'recover'
        : pipelineDatasets.has(doc.datasetId)
          ? 'retry'
          : doc.segments.total > 0 && f?.data_source_type === WEBSITE_CRAWL
            ? 'sync-website'
            : doc.segments.total > 0
              ? 'retry'
              : 'index'
    if (kind === 'recover' && !(f?.is_paused === true || Number(f?.is_paused) === 1)) {
      skipped.push({
        id: doc.id,
        class: doc.class,
        reason: 'its status is paused but is_paused is not set: Dify has no resume for it',
      })
      continue
    }
    chosen.push({
      doc,
      kind,
      createdBy: f?.created_by ?? null,
      info: kind === 'sync-website' ? scrapeInfo(f?.data_source_info ?? null) : null,
    })
  }
  // Dify refuses a retry or sync while its flag is set (a run began less than documentFlagTtlSeconds ago)
  const flagged = chosen.filter((c) => c.kind === 'retry' || c.kind === 'sync-website')
  const flags = new Set<string>()
  for (const part of chunks(flagged)) {
    const keys = part.map((c) =>
      (c.kind === 'retry' ? documentFlagKeys.retried : documentFlagKeys.sync)(c.doc.id, deps.redisPrefix),
    )
    const vals = keys.length ? await deps.redis.mget(...keys) : []
    part.forEach((c, i) => vals[i] !== null && flags.add(c.doc.id))
  }
  const userOf = await retryUsers(
    deps,
    chosen.filter((c) => c.kind === 'retry'),
  )
  const groups = new Map<string, { kind: RerunKind; userId: string | null; docs: typeof chosen }>()
  for (const c of chosen) {
    if (flags.has(c.doc.id)) {
      skipped.push({
        id: c.doc.id,
        class: c.doc.class,
        reason: `Dify's ${c.kind === 'retry' ? 'retry' : 'sync'} flag of this document is set (a ${c.kind === 'retry' ? 'retry' : 'sync'} began less than ${deps.facts.documentFlagTtlSeconds / 60} minutes ago): Dify itself refuses until it expires`,
      })
      continue
    }
    const userId = c.kind === 'retry' && deps.facts.rerun.retry.withUserId ? userOf(c) : null
    if (c.kind === 'retry' && deps.facts.rerun.retry.withUserId && !userId) {
      skipped.push({
        id: c.doc.id,
        class: c.doc.class,
        reason: 'no account to run the retry as (neither its creator nor the tenant owner exists)',
      })
      continue
    }
    // index and retry take a dataset's documents in one call (per account); sync-website and recover one each
    const key =
      c.kind === 'index' || c.kind === 'retry' ? `${c.kind}:${c.doc.datasetId}:${userId}` : `${c.kind}:${c.doc.id}`
    const g = groups.get(key) ?? { kind: c.kind, userId, docs: [] }
    g.docs.push(c)
    groups.set(key, g)
  }
  for (const g of groups.values()) {
    const d0 = g.docs[0]!.doc
    const documentIds = g.docs.map((c) => c.doc.id)
    const call = rerunCall(deps.facts, g.kind, {
      tenantId: d0.tenantId,
      datasetId: d0.datasetId,
      documentIds,
      userId: g.userId,
    })
    const a: RequeueAction = {
      ...base,
      kind: 'dispatch',
      datasetId: d0.datasetId,
      tenantId: d0.tenantId,
      documentIds,
      task: call.task,
      queue: call.queue,
      args: call.args,
      kwargs: call.kwargs,
    }
    actions.push(a)
    steps.set(a, { rerun: g.kind, userId: g.userId, dataSourceInfo: new Map(g.docs.map((c) => [c.doc.id, c.info])) })
  }
  // blocked: one pull per stale tenant queue that holds a blocked document; a stale flag over an empty queue (of a
  // tenant in scope) is deleted the same way (the script pulls whatever is there, or deletes the flag)
  const blocked = targets.filter((x) => x.class === 'blocked')
  for (const tq of stuck.tenantQueues.filter((q) => q.stale)) {
    const kind = deps.facts.tenantQueues.find((k) => k.uniqueKey === tq.uniqueKey)!
    const docs = blocked.filter(
      (d) =>
        d.tenantId === tq.tenantId && d.work.some((w) => w.kind === 'tenant-queue' && w.tenantQueue === tq.uniqueKey),
    )
    if (!docs.length && !(tq.flag && tq.length === 0)) continue
    const task = kind.priorityTask ?? kind.normalTask!
    const queue = deps.facts.tasks.find((t) => t.name === task)?.queue ?? null
    actions.push({
      ...base,
      kind: 'tenant-queue',
      datasetId: null,
      tenantId: tq.tenantId,
      documentIds: docs.map((d) => d.id),
      task,
      queue,
      tenantQueue: tq.uniqueKey,
    })
  }
  return { stuck, actions, skipped, steps }
}

// RPOP the next entry and set the flag, atomically; returns the entry or false (empty: the stale flag is deleted)
const PULL_LUA = `
local e = redis.call('RPOP', KEYS[1])
if e then redis.call('SETEX', KEYS[2], ARGV[1], '1') return e end
redis.call('DEL', KEYS[2])
return false
`

/** Publish a task call as `.delay()` does: declare the binding, LPUSH the message. Returns the task id. */
export async function publish(b: Broker, call: TaskCall): Promise<string> {
  const m = buildTaskMessage(call)
  await b.client
    .multi()
    .sadd(
      celeryKeys.binding(call.queue, b.prefix),
      bindingMember({ routingKey: call.queue, pattern: '', queue: call.queue }),
    )
    .lpush(b.prefix + m.list, m.payload)
    .exec()
  return m.id
}

/**
 * What DocumentService writes before it delays a re-run (api/services/dataset_service.py): retry — status
 * `waiting`, the retried flag (setex 600 1); sync-website — status `waiting`, data_source_info with mode "scrape",
 * the sync flag; recover — is_paused false, paused_by/paused_at null, the paused flag deleted. Only rows still
 * non-terminal are changed.
 */
async function beforeRerun(deps: StuckDeps, step: DispatchStep, ids: string[]): Promise<void> {
  const k = deps.db.kysely
  const ttl = deps.facts.documentFlagTtlSeconds
  if (step.rerun === 'retry') {
    await k
      .updateTable('documents')
      .set({ indexing_status: 'waiting' })
      .where('id', 'in', ids)
      .where('indexing_status', 'not in', [...TERMINAL_STATUSES])
      .execute()
    const m = deps.redis.multi()
    for (const id of ids) m.setex(documentFlagKeys.retried(id, deps.redisPrefix), ttl, '1')
    await m.exec()
  } else if (step.rerun === 'sync-website') {
    for (const id of ids) {
      const info = step.dataSourceInfo.get(id)
      await k
        .updateTable('documents')
        .set(info ? { indexing_status: 'waiting', data_source_info: info } : { indexing_status: 'waiting' })
        .where('id', '=', id)
        .where('indexing_status', 'not in', [...TERMINAL_STATUSES])
        .execute()
      await deps.redis.setex(documentFlagKeys.sync(id, deps.redisPrefix), ttl, '1')
    }
  } else if (step.rerun === 'recover') {
    await k
      .updateTable('documents')
      .set({ is_paused: false, paused_by: null, paused_at: null })
      .where('id', 'in', ids)
      .execute()
    await deps.redis.del(...ids.map((id) => documentFlagKeys.paused(id, deps.redisPrefix)))
  }
}

/** The keyword arguments Dify's task `finally` delays for a tenant-queue entry it pulled. */
function tenantEntryCall(deps: StuckDeps, a: RequeueAction, entry: string): Record<string, unknown> {
  const kind = deps.facts.tenantQueues.find((k) => k.uniqueKey === a.tenantQueue)
  // pipeline: the entry is the invoke-entities file id (rag_pipeline_run_task.py finally: delay(file_id=…, tenant_id=…))
  if (kind?.entry === 'file-id') return { [PIPELINE_FILE_PARAM]: entry, tenant_id: a.tenantId }
  const data = ((parseTolerant(entry) as { data?: Record<string, unknown> })?.data ?? {}) as Record<string, unknown>
  return { tenant_id: data.tenant_id, dataset_id: data.dataset_id, document_ids: data.document_ids }
}

export async function runRequeue(deps: StuckDeps & { redis: Redis }, plan: RequeuePlan): Promise<void> {
  const actions = plan.actions
  let done = 0
  try {
    for (const a of actions) {
      if (a.kind === 'dispatch') {
        const step = plan.steps.get(a) ?? { rerun: 'index' as const, userId: null, dataSourceInfo: new Map() }
        // a document that reached a terminal status since it was read (its task finished meanwhile) is left out
        const still = new Set(
          (
            await deps.db.kysely
              .selectFrom('documents')
              .select('id')
              .where('id', 'in', a.documentIds)
              .where('indexing_status', 'not in', [...TERMINAL_STATUSES])
              .execute()
          ).map((r) => String(r.id)),
        )
        const left = a.documentIds.filter((id) => still.has(id))
        if (left.length !== a.documentIds.length) {
          a.problem = `${a.documentIds.length - left.length} document(s) finished meanwhile: left out`
          a.documentIds = left
          const call = rerunCall(deps.facts, step.rerun, {
            tenantId: a.tenantId,
            datasetId: a.datasetId!,
            documentIds: left,
            userId: step.userId,
          })
          a.args = call.args
          a.kwargs = call.kwargs
        }
        if (!left.length) {
          a.done = true
          continue
        }
        await beforeRerun(deps, step, left)
        a.taskId = await publish(deps.broker, { task: a.task!, queue: a.queue!, args: a.args!, kwargs: a.kwargs! })
      } else if (a.kind === 'tenant-queue') {
        const qKey = tenantQueueKeys.queue(a.tenantQueue!, a.tenantId, deps.redisPrefix)
        const fKey = tenantQueueKeys.flag(a.tenantQueue!, a.tenantId, deps.redisPrefix)
        const entry = (await deps.redis.eval(PULL_LUA, 2, qKey, fKey, String(deps.facts.tenantFlagTtlSeconds))) as
          string | null
        if (!entry) {
          a.flag = 'deleted'
        } else {
          a.args = []
          a.kwargs = tenantEntryCall(deps, a, entry)
          a.flag = 'set'
          a.taskId = await publish(deps.broker, { task: a.task!, queue: a.queue!, args: [], kwargs: a.kwargs })
        }
      } else {
        const r = await deps.db.kysely
          .updateTable('documents')
          .set({ indexing_status: 'error', error: MARK_ERROR_MESSAGE, stopped_at: new Date() })
          .where('id', 'in', a.documentIds)
          .where('indexing_status', 'not in', [...TERMINAL_STATUSES])
          .executeTakeFirst()
        if (Number(r.numUpdatedRows) !== a.documentIds.length)
          a.problem = 'changed meanwhile (already terminal): left alone'
      }
      a.done = true
      done++
    }
  } catch (err) {
    if (!done) throw err
    throw new PartialError(`Requeue stopped after ${done} of ${actions.length} action(s): ${(err as Error).message}`, {
      details: { actions },
    })
  }
}

export function summarise(
  dryRun: boolean,
  markError: boolean,
  version: string | null,
  plan: RequeuePlan,
): RequeueResult {
  const a = plan.actions
  return {
    dryRun,
    markError,
    version,
    actions: a,
    skipped: plan.skipped,
    counts: {
      dispatched: a.filter((x) => x.kind !== 'mark-error' && (dryRun ? x.documentIds.length > 0 : !!x.taskId)).length,
      documents: a.reduce((n, x) => n + x.documentIds.length, 0),
      markedError: a.filter((x) => x.kind === 'mark-error' && (dryRun || (x.done && !x.problem))).length,
      flagsCleared: a.filter((x) => x.flag === 'deleted').length,
      skipped: plan.skipped.length,
    },
    stuck: { counts: plan.stuck.counts, workers: plan.stuck.workers },
  }
}
