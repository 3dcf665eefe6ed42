/**
 * `dify queue purge`: all priority lists of a queue (as kombu's `_purge`: one MULTI of LLEN+DEL per list), or only
 * the messages of one task name (`purgeTask`, linear in the list length, see below). The `unacked` hash is never
 * touched.
 */
import { queueLists, type Broker } from './broker.js'
import { decodeMessage } from './message.js'
import { MARK_REMOVE_LUA, newTombstone } from './purge-lua.js'
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

/**
 * Remove (or count, with dryRun) the messages of one task name, in linear time and in small atomic steps.
 *
 * Each priority list is read from the head (index 0) towards the tail in chunks (LRANGE). The matching messages of a
 * chunk are handed to one short Lua script (`MARK_REMOVE_LUA`, bounded by a time budget) that finds each one again
 * by its exact payload at or near the index where it was read, overwrites it with a tombstone (LSET) and, before it
 * returns, removes exactly those tombstones with one LREM from the nearer end. So no tombstone is ever visible to a
 * worker or left behind by a crash, a message another client changed or took is never touched, and the cost is one
 * walk per message instead of one LREM over the list per message (which made the old purge quadratic).
 *
 * Concurrency (kombu: producers LPUSH at the head, workers BRPOP at the tail):
 * - a BRPOP does not change head-based indexes; a message taken by a worker is simply not found (not counted);
 * - an LPUSH shifts every index up by one: the script searches forward for the payload (and, failing that, LPOS from
 *   the tail within the distance it had), and the next chunk starts at the last kept message of this one, found
 *   again by value, so the sweep neither skips nor re-reads a message;
 * - messages pushed after the sweep started are above it and are not looked at (as with a MULTI-time snapshot).
 */
export async function purgeTask(
  b: Broker,
  queue: string,
  task: string,
  opts: { dryRun?: boolean; chunk?: number; batch?: number; budgetMs?: number } = {},
): Promise<PurgeResult> {
  const chunk = Math.max(2, opts.chunk ?? 1000)
  const batch = Math.max(1, opts.batch ?? 500)
  const budgetUs = String(Math.round((opts.budgetMs ?? 10) * 1000))
  const tomb = newTombstone()
  const byPriority: Record<string, number> = {}
  let total = 0
  for (const l of queueLists(b, queue)) {
    let n = 0
    // `start`: where the next unread message is expected (a lower bound); `anchor`: the last message read that is
    // still in the list, read again just before `start` to see how far concurrent LPUSHes moved everything
    let start = 0
    let anchor: { value: string; tailDist: number } | null = null
    for (;;) {
      const from: number = anchor ? Math.max(0, start - 1) : start
      let [len, raws] = await readChunk(b, l.key, from, chunk)
      let base: number = from
      let atTail = raws.length < chunk
      if (anchor) {
        let j = raws.indexOf(anchor.value)
        if (j < 0) {
          // moved by more than a chunk (a burst of LPUSH), or taken by a worker. From the tail it is at most as far
          // as when it was read (only consumers and our removals below it bring it closer), so LPOS is bounded.
          const p = (await b.client.call('LPOS', l.key, anchor.value, 'RANK', '-1', 'MAXLEN', String(anchor.tailDist + 1))) as number | null
          if (p === null) break // the anchor was consumed, and so was everything older: nothing is left to read
          ;[len, raws] = await readChunk(b, l.key, p, chunk)
          atTail = raws.length < chunk
          if (raws[0] !== anchor.value) {
            start = p + 1 // it moved again in between: look again from there
            continue
          }
          base = p
          j = 0
        }
        raws = raws.slice(j + 1)
        base += j + 1
      }
      const cands: Array<{ rel: number; value: string; tailDist: number }> = []
      raws.forEach((raw, i) => {
        if (decodeMessage(raw, { body: false }).task === task) cands.push({ rel: i, value: raw, tailDist: Math.max(0, len - 1 - (base + i)) })
      })
      let removedHere = 0
      let shift = 0
      if (opts.dryRun) removedHere = cands.length
      else {
        // one or more scripts, each within the time budget; the removals of one move the later candidates up
        for (let k = 0; k < cands.length; ) {
          const args: string[] = [tomb, budgetUs]
          for (const c of cands.slice(k, k + batch)) args.push(String(base + c.rel - removedHere + shift), String(c.tailDist), c.value)
          let r: [number, number, number]
          try {
            r = (await b.client.eval(MARK_REMOVE_LUA, 1, l.key, ...args)) as [number, number, number]
          } catch (err) {
            byPriority[String(l.priority)] = n + removedHere
            const msg = `Redis refused to remove messages from ${queue} (${(err as Error).message})`
            if (!total) throw new DifyOpsError(`${msg}; nothing was removed.`)
            throw new PartialError(`${msg} after ${total} message(s) of ${task} were removed.`, { details: { queue, task, removed: total, byPriority } })
          }
          removedHere += r[1]
          total += r[1]
          shift += r[2]
          k += r[0]
        }
      }
      if (opts.dryRun) total += removedHere
      n += removedHere
      if (atTail || !raws.length) break
      // every candidate is now out of the list (removed, or taken by a worker); any estimate error only makes the
      // next read start too early, which the anchor corrects
      const isCand = new Set(cands.map((c) => c.rel))
      let last = raws.length - 1
      if (!opts.dryRun) while (last >= 0 && isCand.has(last)) last--
      const outAbove = opts.dryRun ? 0 : cands.filter((c) => c.rel < last).length
      if (last < 0) {
        start = base + raws.length - cands.length + shift
        anchor = null
      } else {
        start = base + last + 1 - outAbove + shift
        anchor = { value: raws[last]!, tailDist: Math.max(0, len - 1 - (base + last)) }
      }
    }
    byPriority[String(l.priority)] = n
  }
  return { queue, task, removed: total, byPriority, dryRun: Boolean(opts.dryRun) }
}

async function readChunk(b: Broker, key: string, from: number, chunk: number): Promise<[number, string[]]> {
  const res = await b.client.multi().llen(key).lrange(key, from, from + chunk - 1).exec()
  return [Number(res?.[0]?.[1] ?? 0), (res?.[1]?.[1] as string[] | undefined) ?? []]
}
