/**
 * `dify queue list`: every Dify queue plus every queue discovered in the broker, with depth per priority list,
 * unacked count, and the live workers consuming it. The counts for the known queues and the unacked hash go in one
 * pipelined batch; discovered queues need one more batch.
 */
import { PRIORITY_STEPS } from '../dify/queues.js'
import { celeryKeys } from '../dify/keys.js'
import { discoverQueues, isInternalQueue, queueLists, type Broker } from './broker.js'
import { broadcast } from './pidbox.js'
import { parseTolerant } from './pyjson.js'

export interface QueueRow {
  name: string
  /** consumed by the Dify worker according to the queue list in use */
  expected: boolean
  /** a `_kombu.binding.*` entry routes to it */
  bound: boolean
  /** messages waiting, summed over the priority lists */
  depth: number
  /** waiting messages per priority list: "0", "3", "6", "9" */
  byPriority: Record<string, number>
  /** reserved/ETA messages held by workers (the `unacked` hash), by routing key */
  unacked: number
  /** live workers consuming it; null when workers were not asked */
  consumers: string[] | null
  /** has messages and nobody consumes it */
  noConsumer: boolean
}

export interface QueueSnapshot {
  queues: QueueRow[]
  totals: { depth: number; unacked: number }
  /** null when workers were not asked (--no-workers) */
  workers: { asked: boolean; nodes: string[]; elapsedMs: number }
  takenAt: string
}

export interface ListOptions {
  /** the worker queue list (CELERY_QUEUES, or the profile's list) */
  expected: readonly string[]
  /** ask live workers for their queues (pidbox active_queues); 0 disables */
  workerTimeoutMs: number
  signal?: AbortSignal
}

/** Extract the routing key (queue) of an `unacked` value: JSON [envelope, exchange, routing_key]. */
export function unackedRoutingKey(value: string): string | null {
  const m = /,\s*"((?:[^"\\]|\\.)*)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*\]\s*$/.exec(value.slice(-2048))
  if (m) {
    try {
      return JSON.parse(`"${m[2]}"`) as string
    } catch {
      /* fall through */
    }
  }
  try {
    const v = parseTolerant(value)
    return Array.isArray(v) && typeof v[2] === 'string' ? v[2] : null
  } catch {
    return null
  }
}

/** Count the unacked hash by routing key, streamed with HSCAN. */
export async function unackedByQueue(b: Broker): Promise<{ total: number; byQueue: Map<string, number> }> {
  const byQueue = new Map<string, number>()
  let total = 0
  let cursor = '0'
  do {
    const [next, flat] = await b.client.hscan(celeryKeys.unacked(b.prefix), cursor, 'COUNT', 1000)
    cursor = next
    for (let i = 1; i < flat.length; i += 2) {
      total++
      const q = unackedRoutingKey(flat[i]!) ?? '(unreadable)'
      byQueue.set(q, (byQueue.get(q) ?? 0) + 1)
    }
  } while (cursor !== '0')
  return { total, byQueue }
}

export async function listQueues(b: Broker, opts: ListOptions): Promise<QueueSnapshot> {
  const takenAt = new Date().toISOString()
  // batch 1: depth of the expected queues, unacked size, and discovery (SCANs) in flight together
  const names = [...new Set(opts.expected)]
  const depthOf = async (queues: string[]) => {
    const pipe = b.client.pipeline()
    for (const q of queues) for (const l of queueLists(b, q)) pipe.llen(l.key)
    const res = (await pipe.exec()) ?? []
    const out = new Map<string, Record<string, number>>()
    let i = 0
    for (const q of queues) {
      const by: Record<string, number> = {}
      for (const p of PRIORITY_STEPS) by[String(p)] = Number(res[i++]?.[1] ?? 0)
      out.set(q, by)
    }
    return out
  }
  const [known, discovered, unacked] = await Promise.all([
    depthOf(names),
    discoverQueues(b),
    b.client
      .hlen(celeryKeys.unacked(b.prefix))
      .then((n) => (n > 0 ? unackedByQueue(b) : { total: 0, byQueue: new Map<string, number>() })),
  ])
  const extra = [...new Set([...discovered.bound, ...discovered.lists, ...unacked.byQueue.keys()])].filter(
    (q) => !known.has(q) && !isInternalQueue(q) && q !== '(unreadable)',
  )
  const more = extra.length ? await depthOf(extra) : new Map<string, Record<string, number>>()

  // live workers and the queues they consume
  let consumersOf: Map<string, string[]> | null = null
  const workers = { asked: false, nodes: [] as string[], elapsedMs: 0 }
  if (opts.workerTimeoutMs > 0) {
    const r = await broadcast(b, [{ method: 'active_queues' }], {
      timeoutMs: opts.workerTimeoutMs,
      signal: opts.signal,
    })
    workers.asked = true
    workers.elapsedMs = r.elapsedMs
    consumersOf = new Map()
    for (const [node, qs] of Object.entries(r.replies.active_queues ?? {})) {
      workers.nodes.push(node)
      if (!Array.isArray(qs)) continue
      for (const q of qs) {
        const name = (q as { name?: unknown })?.name
        if (typeof name === 'string') consumersOf.set(name, [...(consumersOf.get(name) ?? []), node])
      }
    }
    workers.nodes.sort()
  }

  const rows: QueueRow[] = []
  const expectedSet = new Set(names)
  for (const [name, by] of [...known, ...more]) {
    const depth = Object.values(by).reduce((a, n) => a + n, 0)
    const consumers = consumersOf ? (consumersOf.get(name) ?? []).sort() : null
    rows.push({
      name,
      expected: expectedSet.has(name),
      bound: discovered.bound.has(name),
      depth,
      byPriority: by,
      unacked: unacked.byQueue.get(name) ?? 0,
      consumers,
      noConsumer: depth > 0 && (consumers ? consumers.length === 0 : !expectedSet.has(name)),
    })
  }
  // expected queues in their configured order, then discovered ones by name
  rows.sort((x, y) =>
    x.expected === y.expected
      ? x.expected
        ? names.indexOf(x.name) - names.indexOf(y.name)
        : x.name.localeCompare(y.name)
      : x.expected
        ? -1
        : 1,
  )
  return {
    queues: rows,
    totals: { depth: rows.reduce((a, r) => a + r.depth, 0), unacked: unacked.total },
    workers,
    takenAt,
  }
}
