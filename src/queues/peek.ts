/**
 * `dify queue peek` and `dify queue stats`: read messages without consuming them. Workers BRPOP the tail of the
 * bare list first, then of "…\x06\x163", "…6", "…9", so consumption order is: per priority list, index -1 first.
 */
import { queueLists, type Broker } from './broker.js'
import { decodeMessage, type DecodedMessage } from './message.js'

export interface PeekedMessage extends DecodedMessage {
  /** 1 = the next message a worker takes */
  position: number
  /** the priority list it sits in (0, 3, 6, 9) */
  list: number
  /** the raw envelope, only with includeRaw (clipped to rawMax characters) */
  raw?: string
}

export interface PeekResult {
  queue: string
  depth: number
  byPriority: Record<string, number>
  messages: PeekedMessage[]
}

export async function peekQueue(b: Broker, queue: string, opts: { count: number; priority?: number; includeRaw?: boolean; rawMax?: number }): Promise<PeekResult> {
  const lists = queueLists(b, queue)
  const pipe = b.client.pipeline()
  for (const l of lists) pipe.llen(l.key)
  const lens = ((await pipe.exec()) ?? []).map((r) => Number(r[1] ?? 0))
  const byPriority: Record<string, number> = {}
  lists.forEach((l, i) => (byPriority[String(l.priority)] = lens[i]!))
  const messages: PeekedMessage[] = []
  let position = 0
  for (const [i, l] of lists.entries()) {
    if (opts.priority !== undefined && l.priority !== opts.priority) continue
    const want = opts.count - messages.length
    if (want <= 0) break
    if (lens[i] === 0) continue
    const raws = await b.client.lrange(l.key, -want, -1)
    for (const raw of raws.reverse()) {
      const m: PeekedMessage = { position: ++position, list: l.priority, ...decodeMessage(raw) }
      if (opts.includeRaw) m.raw = raw.length > (opts.rawMax ?? 65536) ? raw.slice(0, opts.rawMax ?? 65536) + '...' : raw
      messages.push(m)
    }
  }
  return { queue, depth: lens.reduce((a, n) => a + n, 0), byPriority, messages }
}

export interface TaskStats {
  task: string
  count: number
  bytes: number
  /** ETA range of the messages that have one (ISO-8601 UTC) */
  oldestEta: string | null
  newestEta: string | null
  withEta: number
  redelivered: number
}

export interface StatsResult {
  queue: string
  scanned: number
  bytes: number
  byPriority: Record<string, number>
  tasks: TaskStats[]
  malformed: number
  /** messages whose body is not JSON (pickle, yaml, msgpack…), by content type */
  opaque: Record<string, number>
  elapsedMs: number
}

/**
 * Count a queue by task name, streamed in LRANGE chunks (memory bounded by the chunk and the number of distinct
 * task names). The snapshot is not atomic: on a busy queue, messages pushed meanwhile may be counted twice at most
 * once per chunk boundary and consumed ones may be missed; a quiet queue is counted exactly.
 */
export async function queueStats(b: Broker, queue: string, opts: { chunk?: number; onProgress?: (n: number) => void; signal?: AbortSignal } = {}): Promise<StatsResult> {
  const started = Date.now()
  const chunk = opts.chunk ?? 2000
  const acc = new Map<string, { count: number; bytes: number; min: number; max: number; withEta: number; redelivered: number }>()
  const opaque: Record<string, number> = {}
  const byPriority: Record<string, number> = {}
  let scanned = 0
  let bytes = 0
  let malformed = 0
  for (const l of queueLists(b, queue)) {
    let n = 0
    // the next chunk is requested while the current one is decoded
    let next = b.client.lrange(l.key, 0, chunk - 1)
    for (let start = 0; ; start += chunk) {
      const raws = await next
      if (raws.length === chunk) next = b.client.lrange(l.key, start + chunk, start + 2 * chunk - 1)
      for (const raw of raws) {
        const m = decodeMessage(raw, { body: false })
        n++
        bytes += m.size
        if (m.status === 'malformed' && m.task === null) {
          malformed++
          continue
        }
        if (m.status === 'opaque' && m.task === null) {
          const t = m.contentType ?? '(none)'
          opaque[t] = (opaque[t] ?? 0) + 1
          continue
        }
        if (m.status === 'malformed') malformed++
        if (m.status === 'opaque') {
          const t = m.contentType ?? '(none)'
          opaque[t] = (opaque[t] ?? 0) + 1
        }
        const key = m.task ?? '(unknown)'
        let a = acc.get(key)
        if (!a) acc.set(key, (a = { count: 0, bytes: 0, min: Infinity, max: -Infinity, withEta: 0, redelivered: 0 }))
        a.count++
        a.bytes += m.size
        if (m.redelivered) a.redelivered++
        if (m.eta) {
          const t = Date.parse(m.eta)
          if (!Number.isNaN(t)) {
            a.withEta++
            if (t < a.min) a.min = t
            if (t > a.max) a.max = t
          }
        }
      }
      scanned += raws.length
      opts.onProgress?.(scanned)
      if (raws.length < chunk || opts.signal?.aborted) break
    }
    byPriority[String(l.priority)] = n
    if (opts.signal?.aborted) break
  }
  const tasks = [...acc.entries()]
    .map(([task, a]) => ({
      task,
      count: a.count,
      bytes: a.bytes,
      oldestEta: a.withEta ? new Date(a.min).toISOString() : null,
      newestEta: a.withEta ? new Date(a.max).toISOString() : null,
      withEta: a.withEta,
      redelivered: a.redelivered,
    }))
    .sort((x, y) => y.count - x.count || x.task.localeCompare(y.task))
  return { queue, scanned, bytes, byPriority, tasks, malformed, opaque, elapsedMs: Date.now() - started }
}
