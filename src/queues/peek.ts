/**
 * `dify queue peek` and `dify queue stats`: read messages without consuming them. Workers BRPOP the tail of the
 * bare list first, then of "…\x06\x163", "…6", "…9", so consumption order is: per priority list, index -1 first.
 */
import { queueListLengths, queueLists, type Broker } from './broker.js'
import { decodeMessage, quickSummaryBuf, type DecodedMessage } from './message.js'
import { openRawLrange, type ElementFn } from './resp.js'

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

export async function peekQueue(
  b: Broker,
  queue: string,
  opts: { count: number; priority?: number; includeRaw?: boolean; rawMax?: number },
): Promise<PeekResult> {
  const { lists, byPriority } = await queueListLengths(b, queue)
  const messages: PeekedMessage[] = []
  let position = 0
  for (const l of lists) {
    if (opts.priority !== undefined && l.priority !== opts.priority) continue
    const want = opts.count - messages.length
    if (want <= 0) break
    if (l.length === 0) continue
    const raws = await b.client.lrange(l.key, -want, -1)
    for (const raw of raws.reverse()) {
      const m: PeekedMessage = { position: ++position, list: l.priority, ...decodeMessage(raw) }
      if (opts.includeRaw)
        m.raw = raw.length > (opts.rawMax ?? 65536) ? raw.slice(0, opts.rawMax ?? 65536) + '...' : raw
      messages.push(m)
    }
  }
  return { queue, depth: lists.reduce((a, l) => a + l.length, 0), byPriority, messages }
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

interface Acc {
  count: number
  bytes: number
  min: number
  max: number
  withEta: number
  redelivered: number
}

/**
 * Count a queue by task name, streamed in chunks (memory bounded by the chunks in flight and the number of distinct
 * task names). The lists are read with the raw LRANGE reader (`resp.ts`: several chunks in flight, elements handed
 * over as slices of the socket buffers). Messages in Celery's own layout are summarised by `quickSummaryBuf` (one
 * anchored regular expression and one key search over a Latin-1 string, no JSON parse); anything else goes through
 * `decodeMessage`. (A server-side Lua/cjson variant was measured and dropped: ~60 µs of Redis CPU per message,
 * blocking the broker.) The snapshot is not atomic: on a busy queue, messages pushed meanwhile may be counted twice
 * and consumed ones missed; a quiet queue is counted exactly.
 */
export async function queueStats(
  b: Broker,
  queue: string,
  opts: { chunk?: number; inFlight?: number; onProgress?: (n: number) => void; signal?: AbortSignal } = {},
): Promise<StatsResult> {
  const started = Date.now()
  const chunk = opts.chunk ?? 2000
  const inFlight = opts.inFlight ?? 3
  const acc = new Map<string, Acc>()
  const opaque: Record<string, number> = {}
  const byPriority: Record<string, number> = {}
  let scanned = 0
  let bytes = 0
  let malformed = 0
  const addOpaque = (ct: string | null) => {
    const t = ct ?? '(none)'
    opaque[t] = (opaque[t] ?? 0) + 1
  }
  const count = (task: string, size: number, eta: string | null, redelivered: boolean) => {
    let a = acc.get(task)
    if (!a) acc.set(task, (a = { count: 0, bytes: 0, min: Infinity, max: -Infinity, withEta: 0, redelivered: 0 }))
    a.count++
    a.bytes += size
    if (redelivered) a.redelivered++
    if (eta) {
      const t = Date.parse(eta)
      if (!Number.isNaN(t)) {
        a.withEta++
        if (t < a.min) a.min = t
        if (t > a.max) a.max = t
      }
    }
  }
  const onElement = (buf: Buffer, start: number, end: number) => {
    scanned++
    const q = quickSummaryBuf(buf, start, end)
    if (q) {
      bytes += q.size
      if (q.opaque) addOpaque(q.contentType)
      count(q.task, q.size, q.eta, q.redelivered)
      return
    }
    const m = decodeMessage(buf.toString('utf8', start, end), { body: false })
    bytes += m.size
    if (m.status === 'malformed') malformed++
    if (m.status === 'opaque') addOpaque(m.contentType)
    if (m.task !== null) count(m.task, m.size, m.eta, m.redelivered)
  }
  const raw = await openRawLrange(b.client)
  try {
    for (const l of queueLists(b, queue)) {
      const before = scanned
      const onChunk = () => opts.onProgress?.(scanned)
      if (raw) await raw.scan(l.key, { chunk, inFlight, onElement, onChunk, signal: opts.signal })
      else await scanWithClient(b, l.key, chunk, onElement, onChunk, opts.signal)
      byPriority[String(l.priority)] = scanned - before
      if (opts.signal?.aborted) break
    }
  } finally {
    raw?.close()
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

/** The same scan through ioredis (one chunk ahead), for a client whose socket cannot be taken over. */
async function scanWithClient(
  b: Broker,
  key: string,
  chunk: number,
  onElement: ElementFn,
  onChunk: () => void,
  signal?: AbortSignal,
): Promise<void> {
  let next = b.client.lrangeBuffer(key, 0, chunk - 1)
  for (let start = 0; ; start += chunk) {
    const bufs = await next
    if (bufs.length === chunk) next = b.client.lrangeBuffer(key, start + chunk, start + 2 * chunk - 1)
    for (const buf of bufs) onElement(buf, 0, buf.length)
    onChunk()
    if (bufs.length < chunk || signal?.aborted) break
  }
}
