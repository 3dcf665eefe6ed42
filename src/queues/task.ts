/**
 * `dify queue task ID`: where a task is. Its result record first (`celery-task-meta-<id>`; Dify sets
 * task_ignore_result, so it is usually absent), then live workers (pidbox query_task: active/reserved/scheduled),
 * then the `unacked` hash, then the queues' lists (streamed). Nothing found is "unknown", never "pending".
 */
import { celeryKeys } from '../dify/keys.js'
import { queueLists, type Broker } from './broker.js'
import { decodeMessage, type DecodedMessage } from './message.js'
import { broadcast } from './pidbox.js'
import { parseTolerant } from './pyjson.js'
import { listUnacked } from './unacked.js'

export type TaskWhere = 'result' | 'worker' | 'unacked' | 'queue' | 'unknown'

export interface TaskLocation {
  id: string
  where: TaskWhere
  /** result record (status, result, traceback, date_done…) when where = result */
  result: Record<string, unknown> | null
  /** worker nodename and state (active/reserved/ready/scheduled) when where = worker */
  worker: { node: string; state: string; info: unknown } | null
  queue: string | null
  /** 1 = next to run, within its priority list; when where = queue */
  position: number | null
  priority: number | null
  /** seconds since a worker reserved it; when where = unacked */
  reservedAt: string | null
  message: DecodedMessage | null
  workersAsked: number
}

export async function findTask(
  b: Broker,
  id: string,
  opts: { queues: string[]; workerTimeoutMs: number; chunk?: number; signal?: AbortSignal },
): Promise<TaskLocation> {
  const loc: TaskLocation = {
    id,
    where: 'unknown',
    result: null,
    worker: null,
    queue: null,
    position: null,
    priority: null,
    reservedAt: null,
    message: null,
    workersAsked: 0,
  }
  const meta = await b.client.get(celeryKeys.taskMeta(id, b.prefix))
  if (meta !== null) {
    let parsed: unknown
    try {
      parsed = parseTolerant(meta)
    } catch {
      parsed = { unreadable: meta.slice(0, 200) }
    }
    return { ...loc, where: 'result', result: parsed as Record<string, unknown> }
  }
  if (opts.workerTimeoutMs > 0) {
    const r = await broadcast(b, [{ method: 'query_task', arguments: { ids: [id] } }], {
      timeoutMs: opts.workerTimeoutMs,
      signal: opts.signal,
    })
    loc.workersAsked = r.receivers
    for (const [node, reply] of Object.entries(r.replies.query_task ?? {})) {
      const hit = (reply as Record<string, unknown> | null)?.[id]
      if (Array.isArray(hit))
        return { ...loc, where: 'worker', worker: { node, state: String(hit[0]), info: hit[1] ?? null } }
    }
  }
  const needle = JSON.stringify(id).slice(1, -1)
  for (const e of await listUnacked(b)) {
    if (e.id === id) return { ...loc, where: 'unacked', queue: e.queue, reservedAt: e.reservedAt, message: e }
  }
  const chunk = opts.chunk ?? 2000
  for (const q of opts.queues) {
    for (const l of queueLists(b, q)) {
      const len = await b.client.llen(l.key)
      // from the tail (next to run) towards the head
      for (let end = len; end > 0; end -= chunk) {
        const raws = await b.client.lrange(l.key, Math.max(0, end - chunk), end - 1)
        for (let i = raws.length - 1; i >= 0; i--) {
          if (!raws[i]!.includes(needle)) continue
          const m = decodeMessage(raws[i]!)
          if (m.id === id)
            return {
              ...loc,
              where: 'queue',
              queue: q,
              priority: l.priority,
              position: len - (Math.max(0, end - chunk) + i),
              message: m,
            }
        }
      }
    }
  }
  return loc
}
