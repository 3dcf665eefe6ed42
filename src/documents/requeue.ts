/**
 * `dify documents requeue`: re-dispatch orphaned and blocked documents the way Dify does for the connected release
 * (docs/documents.md "requeue"), or with markError set them to `error`. The plan comes from a fresh `findStuck`
 * (live workers asked), so a document that is queued or running is never dispatched twice.
 *
 * - orphaned: one task call per dataset, as Dify's dispatch on a self-hosted install (`dispatchCall`), LPUSHed as
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
import { dispatchCall, tenantQueueKeys, TERMINAL_STATUSES } from '../dify/indexing-tasks.js'
import { PartialError } from '../core/errors.js'
import { parseTolerant } from '../queues/pyjson.js'
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

export async function planRequeue(
  deps: StuckDeps,
  input: StuckInput & { markError?: boolean },
): Promise<{ stuck: StuckResult; actions: RequeueAction[]; skipped: RequeueResult['skipped'] }> {
  const stuck = await findStuck(deps, input)
  const wanted = new Set<string>(input.markError ? ['orphaned', 'blocked', 'failed-silently'] : ['orphaned', 'blocked'])
  const skipped: RequeueResult['skipped'] = []
  const found = new Set(stuck.documents.map((d) => d.id))
  for (const id of input.documents ?? [])
    if (!found.has(id))
      skipped.push({ id, class: null, reason: 'not stuck (terminal status, or younger than --older-than)' })
  const targets: StuckDocument[] = []
  for (const d of stuck.documents) {
    if (wanted.has(d.class)) targets.push(d)
    else skipped.push({ id: d.id, class: d.class, reason: d.reason })
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
  if (input.markError) {
    for (const d of targets)
      actions.push({ ...base, kind: 'mark-error', datasetId: d.datasetId, tenantId: d.tenantId, documentIds: [d.id] })
    return { stuck, actions, skipped }
  }
  // orphaned: one call per dataset, documents in the order Dify lists them
  const byDataset = new Map<string, StuckDocument[]>()
  for (const d of targets.filter((x) => x.class === 'orphaned'))
    byDataset.set(d.datasetId, [...(byDataset.get(d.datasetId) ?? []), d])
  for (const [datasetId, docs] of byDataset) {
    const call = dispatchCall(
      deps.facts,
      docs[0]!.tenantId,
      datasetId,
      docs.map((d) => d.id),
    )
    actions.push({
      ...base,
      kind: 'dispatch',
      datasetId,
      tenantId: docs[0]!.tenantId,
      documentIds: docs.map((d) => d.id),
      task: call.task,
      queue: call.queue,
      args: call.args,
      kwargs: call.kwargs,
    })
  }
  // blocked: one pull per stale tenant queue that holds a blocked document; a stale flag over an empty queue (of a
  // tenant in scope) is deleted the same way (the script pulls whatever is there, or deletes the flag)
  const blocked = targets.filter((x) => x.class === 'blocked')
  for (const tq of stuck.tenantQueues.filter((q) => q.stale)) {
    const kind = deps.facts.tenantQueues.find((k) => k.uniqueKey === tq.uniqueKey)!
    if (kind.entry !== 'document-task') continue
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
  return { stuck, actions, skipped }
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

export async function runRequeue(deps: StuckDeps & { redis: Redis }, actions: RequeueAction[]): Promise<void> {
  let done = 0
  try {
    for (const a of actions) {
      if (a.kind === 'dispatch') {
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
          const call = dispatchCall(deps.facts, a.tenantId, a.datasetId!, left)
          a.args = call.args
          a.kwargs = call.kwargs
        }
        if (!left.length) {
          a.done = true
          continue
        }
        a.taskId = await publish(deps.broker, { task: a.task!, queue: a.queue!, args: a.args!, kwargs: a.kwargs! })
      } else if (a.kind === 'tenant-queue') {
        const qKey = tenantQueueKeys.queue(a.tenantQueue!, a.tenantId, deps.redisPrefix)
        const fKey = tenantQueueKeys.flag(a.tenantQueue!, a.tenantId, deps.redisPrefix)
        const entry = (await deps.redis.eval(PULL_LUA, 2, qKey, fKey, String(deps.facts.tenantFlagTtlSeconds))) as
          string | null
        if (!entry) {
          a.flag = 'deleted'
        } else {
          const data = ((parseTolerant(entry) as { data?: Record<string, unknown> })?.data ?? {}) as Record<
            string,
            unknown
          >
          a.args = []
          a.kwargs = { tenant_id: data.tenant_id, dataset_id: data.dataset_id, document_ids: data.document_ids }
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
  plan: Awaited<ReturnType<typeof planRequeue>>,
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
