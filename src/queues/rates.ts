/**
 * Rates in and out of a queue for `queue list --watch`, from the broker alone (no MONITOR, no keyspace events).
 *
 * Every priority list is a FIFO: producers LPUSH at the head (index 0), workers BRPOP the tail. At each refresh one
 * MULTI reads, per list, its length and its head element (the newest message, unique by its delivery tag and id),
 * and looks for the previous refresh's head element with LPOS from the head. If it is still there at index p,
 * exactly p messages were pushed since (in = p) and, since the length went from len0 to len1,
 * out = len0 + p - len1 were taken. LPOS stops at the element, so it costs O(messages pushed meanwhile).
 * If the list was empty at the previous refresh, or the element is gone (everything older was consumed), only lower
 * bounds are known: in >= len1 (and, when the element is gone, out >= len0). Rates are these counts divided by the
 * time between the two MULTIs.
 *
 * Limits: a list that is empty at both refreshes counts 0 in and 0 out, although messages may have passed through it
 * in between (workers taking them as fast as they come): no trace of them is left in the broker (with Dify's early
 * acks an `unacked` entry lives only until the task starts). Messages put back on the consuming end (RPUSH by a
 * restore), removed from the middle (purge --task) or a list deleted (purge) during the interval skew that
 * interval's figures.
 */
import { queueLists, type Broker } from './broker.js'

export interface ListMark {
  len: number
  /** the head element (newest message) when the list was read; null when empty */
  head: Buffer | null
}

export interface Flow {
  /** messages pushed during the interval (a lower bound when !exact) */
  in: number
  /** messages taken during the interval (a lower bound when !exact) */
  out: number
  exact: boolean
}

export interface ListSample {
  len: number
  head: Buffer | null
  /** index from the head of the previous head element; null when not found or not looked for */
  prevAt: number | null
}

/** The flow of one list between two samples. */
export function listFlow(prev: ListMark | undefined, cur: ListSample): Flow {
  // empty at both refreshes: 0 and 0, as far as the broker shows (see the limits above)
  if (prev && prev.len === 0 && cur.len === 0) return { in: 0, out: 0, exact: true }
  if (!prev || prev.len === 0 || prev.head === null) return { in: cur.len, out: 0, exact: false }
  if (cur.prevAt === null) return { in: cur.len, out: prev.len, exact: false }
  return { in: cur.prevAt, out: Math.max(0, prev.len + cur.prevAt - cur.len), exact: true }
}

export function addFlows(flows: Flow[]): Flow {
  return flows.reduce((a, f) => ({ in: a.in + f.in, out: a.out + f.out, exact: a.exact && f.exact }), {
    in: 0,
    out: 0,
    exact: true,
  })
}

export interface QueueRate extends Flow {
  inPerSec: number
  outPerSec: number
  /** seconds between the two samples */
  seconds: number
}

export function toRate(f: Flow, seconds: number): QueueRate {
  const per = (n: number) => (seconds > 0 ? Math.round((n / seconds) * 100) / 100 : 0)
  return { ...f, inPerSec: per(f.in), outPerSec: per(f.out), seconds: Math.round(seconds * 1000) / 1000 }
}

export interface Sample {
  /** ms (monotonic clock) when the MULTI returned */
  at: number
  lists: Map<string, ListSample>
}

/** One MULTI: LLEN + LINDEX 0 of every key, and LPOS of the previous head element where there is one. */
export async function sampleLists(b: Broker, keys: string[], prev: Map<string, ListMark> | null): Promise<Sample> {
  const multi = b.client.multi()
  const looked: boolean[] = []
  for (const k of keys) {
    multi.llen(k)
    multi.lindexBuffer(k, 0)
    const head = prev?.get(k)?.head
    looked.push(Boolean(head))
    if (head) multi.lpos(k, head)
  }
  const res = (await multi.exec()) ?? []
  const at = performance.now()
  const lists = new Map<string, ListSample>()
  let i = 0
  keys.forEach((k, j) => {
    const [e1, len] = res[i++] ?? []
    const [e2, head] = res[i++] ?? []
    let prevAt: number | null = null
    if (looked[j]) {
      const [e3, pos] = res[i++] ?? []
      if (e3) throw e3
      prevAt = typeof pos === 'number' ? pos : null
    }
    if (e1) throw e1
    if (e2) throw e2
    lists.set(k, { len: Number(len ?? 0), head: (head as Buffer | null) ?? null, prevAt })
  })
  return { at, lists }
}

export function marksOf(s: Sample): Map<string, ListMark> {
  return new Map([...s.lists].map(([k, l]) => [k, { len: l.len, head: l.head }]))
}

/** Keeps the previous sample between refreshes; `sample` returns each queue's rate since then (null the first time). */
export class RateTracker {
  private prev: { at: number; marks: Map<string, ListMark> } | null = null

  constructor(private readonly b: Broker) {}

  async sample(queues: string[]): Promise<Map<string, QueueRate> | null> {
    const lists = new Map(queues.map((q) => [q, queueLists(this.b, q).map((l) => l.key)]))
    const s = await sampleLists(this.b, [...lists.values()].flat(), this.prev?.marks ?? null)
    const prev = this.prev
    this.prev = { at: s.at, marks: marksOf(s) }
    if (!prev) return null
    const seconds = (s.at - prev.at) / 1000
    const out = new Map<string, QueueRate>()
    for (const [q, keys] of lists)
      out.set(q, toRate(addFlows(keys.map((k) => listFlow(prev.marks.get(k), s.lists.get(k)!))), seconds))
    return out
  }
}
