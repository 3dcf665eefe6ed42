/**
 * `dify queue purge`: all priority lists of a queue (as kombu's `_purge`: one MULTI of LLEN+DEL per list), or only
 * the messages of one task name (`purgeTask`, linear in the list length, see below). The `unacked` hash is never
 * touched.
 */
import { queueListLengths, queueLists, type Broker } from './broker.js'
import { decodeMessage } from './message.js'
import { MARK_LUA, tombstoneFor } from './purge-lua.js'
import { DifyOpsError, PartialError } from '../core/errors.js'

export interface PurgeResult {
  queue: string
  task: string | null
  /** messages removed (or, with dryRun, that would be removed) */
  removed: number
  byPriority: Record<string, number>
  dryRun: boolean
}

/** Messages that a purge would remove right now. */
export async function countPurge(
  b: Broker,
  queue: string,
  task: string | null,
  opts: { chunk?: number } = {},
): Promise<PurgeResult> {
  if (task === null) {
    const { byPriority } = await queueListLengths(b, queue)
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
 * Remove (or count, with dryRun) the messages of one task name, in small atomic steps, without one LREM per message
 * (which made the old purge quadratic: 66 667 of 200 001 took ~10 min of Redis time).
 *
 * Each priority list is read from the head (index 0) towards the tail in chunks (LRANGE). The matching messages of a
 * chunk go to a short Lua script (`MARK_LUA`, bounded by a time budget) that finds each one again by its exact payload
 * at or near the index where it was read and overwrites it with the queue's tombstone (LSET), so a message another
 * client took or changed is never touched. Every `sweepEvery` marks, and at the end, one LREM from the nearer end
 * removes the tombstones at once. The tombstone is a task-less kombu envelope that a worker drops with a warning
 * (see purge-lua.ts), so one taken by a worker before the LREM, or left by a crash, does no harm; a later purge of
 * the queue removes leftovers.
 *
 * Concurrency (kombu: producers LPUSH at the head, workers BRPOP at the tail):
 * - a BRPOP does not change head-based indexes; a message taken by a worker is simply not found (not counted);
 * - an LPUSH shifts every index up by one: the script searches forward for the payload (and, failing that, LPOS from
 *   the tail within the distance it had), and each chunk is read starting one element early, at the last kept message
 *   of the previous chunk, found again by value: the sweep neither skips nor processes a message twice (an index
 *   estimate can only err low, which re-reads already seen messages: harmless);
 * - messages pushed after the sweep started are above it and are not looked at.
 */
export async function purgeTask(
  b: Broker,
  queue: string,
  task: string,
  opts: { dryRun?: boolean; chunk?: number; batch?: number; budgetMs?: number; sweepEvery?: number } = {},
): Promise<PurgeResult> {
  const chunk = Math.max(2, opts.chunk ?? 1000)
  const batch = Math.max(1, opts.batch ?? 500)
  const budgetUs = String(Math.round((opts.budgetMs ?? 5) * 1000))
  const sweepEvery = Math.max(1, opts.sweepEvery ?? 1000)
  const tomb = tombstoneFor(queue)
  const byPriority: Record<string, number> = {}
  let total = 0
  const failed = (err: unknown, what: string): never => {
    const msg = `Redis refused to ${what} in ${queue} (${(err as Error).message})`
    if (!total) throw new DifyOpsError(`${msg}; nothing was removed.`)
    throw new PartialError(`${msg} after ${total} message(s) of ${task} were removed.`, {
      hint: 'Messages already marked are dropped by the workers, or removed by the next purge of this queue.',
      details: { queue, task, removed: total, byPriority },
    })
  }
  for (const l of queueLists(b, queue)) {
    let n = 0
    // our marks not yet removed, and the index range they were set in (to LREM from the nearer end)
    let pending = 0
    let lo = Infinity
    let hi = -1
    // a tombstone not ours was seen, or a sweep removed another number than expected: end with one LREM of all
    let foreign = false
    const sweep = async (all: boolean): Promise<number> => {
      if (!pending && !all) return 0
      let r: number
      try {
        const len = await b.client.llen(l.key)
        r = all
          ? await b.client.lrem(l.key, 0, tomb)
          : await b.client.lrem(l.key, hi <= len - 1 - lo ? pending : -pending, tomb)
      } catch (err) {
        byPriority[String(l.priority)] = n
        return failed(err, 'remove the marked messages')
      }
      // fewer: some were taken by workers; more: another run's tombstones went too. Either way check at the end.
      if (r !== pending) foreign = true
      pending = 0
      lo = Infinity
      hi = -1
      return r
    }
    // `start`: where the next unread message is expected (a lower bound); `anchor`: the last message read that stays
    // in the list, read again just before `start` to see how far concurrent LPUSHes moved everything
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
          // as when it was read (only consumers and removals below it bring it closer), so LPOS is bounded.
          const p = (await b.client.call(
            'LPOS',
            l.key,
            anchor.value,
            'RANK',
            '-1',
            'MAXLEN',
            String(anchor.tailDist + 1),
          )) as number | null
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
        if (!raws.length && !atTail) {
          // the anchor was the last element read (pushes moved it a whole chunk): read on from just after it
          start = base
          continue
        }
      }
      const cands: Array<{ rel: number; value: string; tailDist: number }> = []
      raws.forEach((raw, i) => {
        if (raw === tomb) foreign = true
        else if (decodeMessage(raw, { body: false }).task === task)
          cands.push({ rel: i, value: raw, tailDist: Math.max(0, len - 1 - (base + i)) })
      })
      let shift = 0
      if (opts.dryRun) n += cands.length
      else {
        // one or more scripts, each within the time budget; marks do not move anything
        for (let k = 0; k < cands.length;) {
          const args: string[] = [tomb, budgetUs]
          for (const c of cands.slice(k, k + batch))
            args.push(String(base + c.rel + shift), String(c.tailDist), c.value)
          let r: [number, number, number]
          try {
            r = (await b.client.eval(MARK_LUA, 1, l.key, ...args)) as [number, number, number]
          } catch (err) {
            byPriority[String(l.priority)] = n
            await sweep(false).catch(() => 0)
            return failed(err, 'mark messages for removal')
          }
          const [processed, marked, sh] = r
          if (marked) {
            lo = Math.min(lo, base + cands[k]!.rel + shift)
            hi = Math.max(hi, base + cands[k + processed - 1]!.rel + shift + sh)
          }
          n += marked
          total += marked
          pending += marked
          shift += sh
          k += processed
        }
      }
      if (atTail) break
      const isCand = new Set(cands.map((c) => c.rel))
      let last = raws.length - 1
      while (last >= 0 && ((!opts.dryRun && isCand.has(last)) || raws[last] === tomb)) last--
      start = base + (last < 0 ? raws.length : last + 1) + shift
      anchor = last < 0 ? null : { value: raws[last]!, tailDist: Math.max(0, len - 1 - (base + last)) }
      // the tombstones are all above `start`: removing them moves it up
      if (pending >= sweepEvery) start -= await sweep(false)
    }
    if (!opts.dryRun) await sweep(foreign)
    byPriority[String(l.priority)] = n
  }
  if (opts.dryRun) total = Object.values(byPriority).reduce((a, x) => a + x, 0)
  return { queue, task, removed: total, byPriority, dryRun: Boolean(opts.dryRun) }
}

async function readChunk(b: Broker, key: string, from: number, chunk: number): Promise<[number, string[]]> {
  const res = await b.client
    .multi()
    .llen(key)
    .lrange(key, from, from + chunk - 1)
    .exec()
  return [Number(res?.[0]?.[1] ?? 0), (res?.[1]?.[1] as string[] | undefined) ?? []]
}
