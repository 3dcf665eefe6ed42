/**
 * The `unacked` hash (delivery_tag -> JSON [envelope, exchange, routing_key]) and its `unacked_index` zset
 * (delivery_tag scored by delivery time): messages reserved by a worker (prefetched, or ETA/countdown tasks waiting
 * in its memory). Entries of killed workers stay there until a kombu consumer restores them after the visibility
 * timeout (3600 s). `restoreUnacked` does what kombu's `restore_by_tag` does, atomically per message in one Lua
 * script: the entry is removed from both indices and its envelope, marked redelivered, is RPUSHed (the consuming
 * end) onto every queue its exchange/routing key leads to, in the list of its priority (kombu ≥ 5.3 behaviour).
 * The script compares the stored value first, so a message restored or acked concurrently is never duplicated.
 */
import { randomUUID } from 'node:crypto'
import { celeryKeys } from '../dify/keys.js'
import { priorityListKey } from '../dify/queues.js'
import { BusyError } from '../core/errors.js'
import { lookupQueues, type Broker } from './broker.js'
import { decodeEnvelope, decodeMessage, priorityBucket, type DecodedMessage } from './message.js'
import { broadcast } from './pidbox.js'
import { dumpsPython, parseLossless, parseTolerant, PyNumber, type PyJson } from './pyjson.js'

/** kombu's default visibility_timeout (Dify keeps it). */
export const VISIBILITY_TIMEOUT_S = 3600
/** kombu's unacked_mutex_expire */
export const MUTEX_EXPIRE_MS = 300_000

export interface UnackedEntry extends DecodedMessage {
  deliveryTag: string
  /** when the worker took it (unacked_index score), ISO-8601 UTC; null when the index has no entry */
  reservedAt: string | null
  ageSeconds: number | null
  queue: string | null
  /** 'no-index': hash entry without index score; 'no-message': index entry without hash value */
  inconsistency: 'no-index' | 'no-message' | null
  /** the stored hash value (needed for the compare-and-restore) */
  rawValue?: string
}

/** Every unacked entry, oldest first; `olderThanS` keeps those reserved at least that long ago. */
export async function listUnacked(
  b: Broker,
  opts: { olderThanS?: number; now?: number; keepRaw?: boolean } = {},
): Promise<UnackedEntry[]> {
  const now = opts.now ?? Date.now() / 1000
  const hashKey = celeryKeys.unacked(b.prefix)
  const indexKey = celeryKeys.unackedIndex(b.prefix)
  const flat = await b.client.zrange(indexKey, 0, -1, 'WITHSCORES')
  const scored: Array<[string, number]> = []
  for (let i = 0; i < flat.length; i += 2) scored.push([flat[i]!, Number(flat[i + 1])])
  const out: UnackedEntry[] = []
  const seen = new Set<string>()
  for (let i = 0; i < scored.length; i += 500) {
    const part = scored.slice(i, i + 500)
    const values = await b.client.hmget(hashKey, ...part.map((p) => p[0]))
    part.forEach(([tag, score], j) => {
      seen.add(tag)
      out.push(entry(tag, values[j] ?? null, score, now, opts.keepRaw))
    })
  }
  // hash entries the index does not know (a crash between ZADD and HSET cannot cause this, but a manual edit can)
  if ((await b.client.hlen(hashKey)) > seen.size) {
    let cursor = '0'
    do {
      const [next, kv] = await b.client.hscan(hashKey, cursor, 'COUNT', 1000)
      cursor = next
      for (let i = 0; i < kv.length; i += 2)
        if (!seen.has(kv[i]!)) out.push(entry(kv[i]!, kv[i + 1]!, null, now, opts.keepRaw))
    } while (cursor !== '0')
  }
  const min = opts.olderThanS ?? 0
  return out.filter((e) => e.ageSeconds === null || e.ageSeconds >= min)
}

function entry(tag: string, value: string | null, score: number | null, now: number, keepRaw?: boolean): UnackedEntry {
  let decoded: DecodedMessage
  let queue: string | null = null
  if (value === null) {
    decoded = decodeMessage('')
    decoded.problem = 'index entry without a message'
    decoded.size = 0
  } else {
    let v: unknown
    try {
      v = parseTolerant(value)
    } catch {
      v = undefined
    }
    if (Array.isArray(v) && v[0] && typeof v[0] === 'object' && !Array.isArray(v[0])) {
      decoded = decodeEnvelope(v[0] as Record<string, unknown>)
      decoded.size = Buffer.byteLength(value)
      queue = typeof v[2] === 'string' ? v[2] : decoded.routingKey
    } else {
      decoded = decodeMessage('')
      decoded.problem = 'unacked value is not [envelope, exchange, routing_key]'
      decoded.size = Buffer.byteLength(value)
    }
  }
  const validScore = score !== null && Number.isFinite(score)
  return {
    ...decoded,
    deliveryTag: tag,
    reservedAt: validScore ? new Date(score * 1000).toISOString() : null,
    ageSeconds: validScore ? Math.max(0, Math.round((now - score) * 10) / 10) : null,
    queue,
    inconsistency: value === null ? 'no-message' : score === null ? 'no-index' : null,
    ...(keepRaw && value !== null ? { rawValue: value } : {}),
  }
}

// KEYS: unacked, unacked_index, target lists…  ARGV: delivery_tag, expected stored value, payload to push
const RESTORE_LUA = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if cur then return -1 end
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if not cur then return -2 end
if cur ~= ARGV[2] then return -1 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
for i = 3, #KEYS do redis.call('RPUSH', KEYS[i], ARGV[3]) end
return #KEYS - 2
`

// redis-py Lock release: delete only if we still own it
const UNLOCK_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

export interface RestoreOutcome {
  deliveryTag: string
  id: string | null
  task: string | null
  queue: string | null
  /**
   * restored: pushed back; cleaned: index entry without message removed; gone: acked/restored meanwhile;
   *  skipped: not restorable (reason in problem)
   */
  outcome: 'restored' | 'cleaned' | 'gone' | 'skipped'
  targets: string[]
  problem: string | null
}

/** The envelope as kombu re-publishes it: redelivered flags set, re-serialised like Python's json.dumps. */
export function redeliveredPayload(value: string): {
  payload: string
  exchange: string
  routingKey: string
  priority: number
} {
  const v = parseLossless(value)
  if (
    !Array.isArray(v) ||
    v.length < 3 ||
    !v[0] ||
    typeof v[0] !== 'object' ||
    Array.isArray(v[0]) ||
    v[0] instanceof PyNumber
  ) {
    throw new Error('unacked value is not [envelope, exchange, routing_key]')
  }
  const env = v[0] as Record<string, PyJson>
  const exchange = typeof v[1] === 'string' ? v[1] : ''
  const routingKey = typeof v[2] === 'string' ? v[2] : ''
  // as kombu: headers first; a missing part stops there (KeyError) and the message is pushed as it is
  const headers = env.headers
  if (headers && typeof headers === 'object' && !Array.isArray(headers) && !(headers instanceof PyNumber)) {
    headers.redelivered = true
    const props = env.properties
    if (props && typeof props === 'object' && !Array.isArray(props) && !(props instanceof PyNumber)) {
      const di = props.delivery_info
      if (di && typeof di === 'object' && !Array.isArray(di) && !(di instanceof PyNumber)) di.redelivered = true
    }
  }
  const props = env.properties as Record<string, PyJson> | undefined
  const pr = props && typeof props === 'object' ? props.priority : null
  const priority = priorityBucket(pr instanceof PyNumber ? pr.valueOf() : typeof pr === 'number' ? pr : 0)
  return { payload: dumpsPython(env), exchange, routingKey, priority }
}

/**
 * Restore entries (from listUnacked with keepRaw) under kombu's `unacked_mutex`. Throws BusyError when a worker
 * holds the mutex (it is restoring right now).
 */
export async function restoreUnacked(
  b: Broker,
  entries: UnackedEntry[],
  opts: { dryRun?: boolean } = {},
): Promise<RestoreOutcome[]> {
  const mutexKey = celeryKeys.unackedMutex(b.prefix)
  const token = randomUUID().replace(/-/g, '')
  if (!opts.dryRun) {
    const ok = await b.client.set(mutexKey, token, 'PX', MUTEX_EXPIRE_MS, 'NX')
    if (ok !== 'OK') {
      throw new BusyError('A Celery worker holds the unacked_mutex: it is restoring messages right now.', {
        hint: 'Run the command again in a few seconds (the lock expires after 5 minutes at most).',
      })
    }
  }
  const out: RestoreOutcome[] = []
  try {
    for (const e of entries) {
      const base = { deliveryTag: e.deliveryTag, id: e.id, task: e.task, queue: e.queue }
      if (e.inconsistency === 'no-message') {
        if (!opts.dryRun)
          await b.client.eval(
            RESTORE_LUA,
            2,
            celeryKeys.unacked(b.prefix),
            celeryKeys.unackedIndex(b.prefix),
            e.deliveryTag,
            '',
            '',
          )
        out.push({ ...base, outcome: 'cleaned', targets: [], problem: 'index entry without a message' })
        continue
      }
      if (e.rawValue === undefined) {
        out.push({ ...base, outcome: 'skipped', targets: [], problem: 'stored value not loaded' })
        continue
      }
      let r: ReturnType<typeof redeliveredPayload>
      try {
        r = redeliveredPayload(e.rawValue)
      } catch (err) {
        out.push({ ...base, outcome: 'skipped', targets: [], problem: (err as Error).message })
        continue
      }
      const queues = await lookupQueues(b, r.exchange, r.routingKey)
      if (!queues.length) {
        out.push({
          ...base,
          outcome: 'skipped',
          targets: [],
          problem: `no queue is bound to exchange "${r.exchange}" with routing key "${r.routingKey}"; left in unacked`,
        })
        continue
      }
      const targets = queues.map((q) => priorityListKey(q, r.priority))
      if (opts.dryRun) {
        out.push({ ...base, outcome: 'restored', targets, problem: null })
        continue
      }
      const res = Number(
        await b.client.eval(
          RESTORE_LUA,
          2 + targets.length,
          celeryKeys.unacked(b.prefix),
          celeryKeys.unackedIndex(b.prefix),
          ...targets.map((t) => b.prefix + t),
          e.deliveryTag,
          e.rawValue,
          r.payload,
        ),
      )
      out.push({
        ...base,
        outcome: res > 0 ? 'restored' : 'gone',
        targets,
        problem: res === -1 ? 'changed meanwhile; left alone' : res === -2 ? 'acked or restored meanwhile' : null,
      })
    }
  } finally {
    if (!opts.dryRun) await b.client.eval(UNLOCK_LUA, 1, mutexKey, token).catch(() => {})
  }
  return out
}

/** `queue unacked --json` */
export interface UnackedReport {
  entries: UnackedEntry[]
  total: number
  /** entries older than kombu's visibility timeout: their worker is gone or they are about to be redelivered */
  overVisibilityTimeout: number
  visibilityTimeoutSeconds: number
}

export function unackedReport(entries: UnackedEntry[]): UnackedReport {
  return {
    entries,
    total: entries.length,
    overVisibilityTimeout: entries.filter((e) => (e.ageSeconds ?? 0) >= VISIBILITY_TIMEOUT_S).length,
    visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_S,
  }
}

/** `queue restore-unacked --json` */
export interface RestoreReport {
  dryRun: boolean
  olderThanSeconds: number
  results: RestoreOutcome[]
  counts: { restored: number; cleaned: number; gone: number; skipped: number; heldByLiveWorkers: number }
  liveWorkers: string[]
}

/** The entries live workers do not hold, and those they do (outcome skipped), after asking them. */
export interface HeldByWorkers {
  entries: UnackedEntry[]
  held: RestoreOutcome[]
  liveWorkers: string[]
}

/**
 * Ask the live workers (one pidbox broadcast of active, reserved, scheduled: it writes a reply queue to the
 * broker, so never under --dry-run) which entries they hold; those are set aside, never restored.
 */
export async function setAsideHeld(
  b: Broker,
  entries: UnackedEntry[],
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<HeldByWorkers> {
  const liveWorkers: string[] = []
  const r = await broadcast(b, [{ method: 'active' }, { method: 'reserved' }, { method: 'scheduled' }], opts)
  const heldBy = new Map<string, string>()
  for (const [method, byNode] of Object.entries(r.replies)) {
    for (const [node, list] of Object.entries(byNode)) {
      if (!liveWorkers.includes(node)) liveWorkers.push(node)
      if (!Array.isArray(list)) continue
      for (const item of list) {
        const info =
          method === 'scheduled' ? (item as { request?: { id?: unknown } })?.request : (item as { id?: unknown })
        if (typeof info?.id === 'string') heldBy.set(info.id, node)
      }
    }
  }
  const held: RestoreOutcome[] = []
  const rest = entries.filter((e) => {
    const node = e.id ? heldBy.get(e.id) : undefined
    if (node)
      held.push({
        deliveryTag: e.deliveryTag,
        id: e.id,
        task: e.task,
        queue: e.queue,
        outcome: 'skipped',
        targets: [],
        problem: `held by live worker ${node}`,
      })
    return !node
  })
  return { entries: rest, held, liveWorkers }
}

/** The report of a restore (or its plan): the results, then the entries live workers hold. */
export function restoreReport(
  results: RestoreOutcome[],
  h: HeldByWorkers,
  opts: { olderThanS: number; dryRun: boolean },
): RestoreReport {
  const all = [...results, ...h.held]
  const n = (o: RestoreOutcome['outcome']) => all.filter((x) => x.outcome === o).length
  return {
    dryRun: opts.dryRun,
    olderThanSeconds: opts.olderThanS,
    results: all,
    counts: {
      restored: n('restored'),
      cleaned: n('cleaned'),
      gone: n('gone'),
      skipped: n('skipped'),
      heldByLiveWorkers: h.held.length,
    },
    liveWorkers: [...h.liveWorkers].sort(),
  }
}
