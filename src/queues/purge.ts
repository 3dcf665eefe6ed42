/**
 * `dify queue purge`: all priority lists of a queue (as kombu's `_purge`: one MULTI of LLEN+DEL per list), or only
 * the messages of one task name: the lists are streamed in chunks and each matching message is removed by its exact
 * payload (LREM key -1 <payload>; every message is unique through its delivery_tag), so a message a worker took in
 * the meantime is simply not counted, and nothing else is touched. The `unacked` hash is never touched.
 */
import { queueLists, type Broker } from './broker.js'
import { decodeMessage } from './message.js'
import { DifyOpsError, PartialError } from '../cli/errors.js'

export interface PurgeResult {
  queue: string
  task: string | null
  /** messages removed (or, with dryRun, that would be removed) */
  removed: number
  byPriority: Record<string, number>
  dryRun: boolean
}

/** Messages that a purge would remove right now. */
export async function countPurge(b: Broker, queue: string, task: string | null, opts: { chunk?: number } = {}): Promise<PurgeResult> {
  if (task === null) {
    const lists = queueLists(b, queue)
    const pipe = b.client.pipeline()
    for (const l of lists) pipe.llen(l.key)
    const res = (await pipe.exec()) ?? []
    const byPriority: Record<string, number> = {}
    lists.forEach((l, i) => (byPriority[String(l.priority)] = Number(res[i]?.[1] ?? 0)))
    return { queue, task, removed: Object.values(byPriority).reduce((a, n) => a + n, 0), byPriority, dryRun: true }
  }
  return purgeTask(b, queue, task, { ...opts, dryRun: true })
}

export async function purgeQueue(b: Broker, queue: string): Promise<PurgeResult> {
  const lists = queueLists(b, queue)
  const m = b.client.multi()
  for (const l of lists) m.llen(l.key)
  for (const l of lists) m.del(l.key)
  const res = (await m.exec()) ?? []
  const byPriority: Record<string, number> = {}
  lists.forEach((l, i) => (byPriority[String(l.priority)] = Number(res[i]?.[1] ?? 0)))
  return { queue, task: null, removed: Object.values(byPriority).reduce((a, n) => a + n, 0), byPriority, dryRun: false }
}

/** Remove (or count, with dryRun) the messages of one task name. */
export async function purgeTask(b: Broker, queue: string, task: string, opts: { dryRun?: boolean; chunk?: number } = {}): Promise<PurgeResult> {
  const chunk = opts.chunk ?? 1000
  const byPriority: Record<string, number> = {}
  for (const l of queueLists(b, queue)) {
    let n = 0
    // positive indexes from the head: workers pop at the tail, so a concurrent pop never makes us skip a message;
    // a concurrent LPUSH only makes us read a few messages twice (their LREM then removes nothing)
    for (let start = 0; ; ) {
      const raws = await b.client.lrange(l.key, start, start + chunk - 1)
      const matches = raws.filter((raw) => decodeMessage(raw, { body: false }).task === task)
      let removedHere = 0
      if (matches.length) {
        if (opts.dryRun) removedHere = matches.length
        else {
          const pipe = b.client.pipeline()
          for (const raw of matches) pipe.lrem(l.key, -1, raw)
          for (const [err, res] of (await pipe.exec()) ?? []) {
            if (err) {
              const removed = Object.values(byPriority).reduce((a, x) => a + x, 0) + n + removedHere
              const msg = `Redis refused to remove a message from ${queue} (${err.message})`
              if (!removed) throw new DifyOpsError(`${msg}; nothing was removed.`)
              throw new PartialError(`${msg} after ${removed} message(s) of ${task} were removed.`, { details: { queue, task, removed } })
            }
            removedHere += Number(res ?? 0)
          }
        }
      }
      n += removedHere
      if (raws.length < chunk) break
      start += chunk - (opts.dryRun ? 0 : removedHere)
    }
    byPriority[String(l.priority)] = n
  }
  return { queue, task, removed: Object.values(byPriority).reduce((a, x) => a + x, 0), byPriority, dryRun: Boolean(opts.dryRun) }
}
