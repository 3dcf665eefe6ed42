/**
 * Decoding of one kombu/Celery message as stored in a Redis list (or inside an `unacked` hash value), protocol 1
 * and 2 (reference: celery-redis-wire.md §3). Only JSON bodies are ever decoded; pickle, yaml, msgpack and any
 * other content type are reported as type and size only. Nothing here throws: a message that cannot be read is
 * returned with `status: 'malformed'` and the reason.
 */
import { parseTolerant } from './pyjson.js'

export type MessageStatus = 'ok' | 'opaque' | 'malformed'

export interface DecodedMessage {
  status: MessageStatus
  /** why the message is malformed or opaque */
  problem: string | null
  /** size of the raw envelope in bytes (UTF-8) */
  size: number
  protocol: 1 | 2 | null
  task: string | null
  id: string | null
  /** argument texts for display: argsrepr/kwargsrepr when present, else rendered from the JSON body */
  args: string | null
  kwargs: string | null
  eta: string | null
  expires: string | null
  retries: number | null
  rootId: string | null
  parentId: string | null
  groupId: string | null
  origin: string | null
  contentType: string | null
  contentEncoding: string | null
  bodyEncoding: string | null
  /** decoded body size in bytes (after base64), when known */
  bodySize: number | null
  /** properties.priority as sent (0-9), when present */
  priority: number | null
  deliveryTag: string | null
  exchange: string | null
  routingKey: string | null
  redelivered: boolean
}

/** Longest argument text kept (Celery truncates argsrepr/kwargsrepr to 1024 too). */
export const ARGS_MAX = 1024

const JSON_TYPES = new Set(['application/json', 'application/x-json', 'text/json'])

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function clip(s: string, max = ARGS_MAX): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s
}

function empty(size: number): DecodedMessage {
  return {
    status: 'malformed', problem: null, size, protocol: null, task: null, id: null, args: null, kwargs: null, eta: null,
    expires: null, retries: null, rootId: null, parentId: null, groupId: null, origin: null, contentType: null,
    contentEncoding: null, bodyEncoding: null, bodySize: null, priority: null, deliveryTag: null, exchange: null,
    routingKey: null, redelivered: false,
  }
}

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/

/** Strict base64 check (Buffer.from is lenient and would silently drop garbage). */
export function decodeBase64(text: string): Buffer | null {
  const t = text.replace(/[\r\n]/g, '')
  if (t.length % 4 !== 0 || !BASE64.test(t)) return null
  return Buffer.from(t, 'base64')
}

/** Render a decoded JSON value compactly for display (kombu type markers shown as their value). */
export function renderValue(v: unknown): string {
  return clip(JSON.stringify(v, (_k, x) => (isObj(x) && '__type__' in x && '__value__' in x ? x.__value__ : x)) ?? 'null')
}

/** The envelope object, or null (with the reason) when the text is not a kombu envelope. */
export function parseEnvelope(raw: string): { env: Record<string, unknown> } | { problem: string } {
  let env: unknown
  try {
    env = parseTolerant(raw)
  } catch {
    return { problem: 'invalid JSON envelope' }
  }
  if (!isObj(env)) return { problem: 'envelope is not a JSON object' }
  return { env }
}

/**
 * Decode one raw message. `opts.body` false skips decoding the body when headers already say everything needed
 * (protocol 2 with argsrepr/kwargsrepr): that is what `stats` uses for speed.
 */
export function decodeMessage(raw: string, opts: { body?: boolean } = {}): DecodedMessage {
  const out = empty(Buffer.byteLength(raw))
  const p = parseEnvelope(raw)
  if ('problem' in p) {
    out.problem = p.problem
    return out
  }
  return decodeEnvelope(p.env, out, opts)
}

export function decodeEnvelope(env: Record<string, unknown>, out: DecodedMessage = empty(0), opts: { body?: boolean } = {}): DecodedMessage {
  const headers = isObj(env.headers) ? env.headers : {}
  const props = isObj(env.properties) ? env.properties : {}
  const dinfo = isObj(props.delivery_info) ? props.delivery_info : {}
  out.contentType = str(env['content-type'])
  out.contentEncoding = str(env['content-encoding'])
  out.bodyEncoding = str(props.body_encoding)
  out.priority = int(props.priority)
  out.deliveryTag = str(props.delivery_tag)
  out.exchange = str(dinfo.exchange)
  out.routingKey = str(dinfo.routing_key)
  out.redelivered = headers.redelivered === true || dinfo.redelivered === true

  if (!('body' in env)) {
    out.problem = 'no body in the envelope'
    return out
  }
  const v2 = typeof headers.task === 'string'
  if (v2) {
    out.protocol = 2
    out.task = headers.task as string
    out.id = str(headers.id)
    out.eta = str(headers.eta)
    out.expires = str(headers.expires)
    out.retries = int(headers.retries)
    out.rootId = str(headers.root_id)
    out.parentId = str(headers.parent_id)
    out.groupId = str(headers.group)
    out.origin = str(headers.origin)
    if (typeof headers.argsrepr === 'string') out.args = clip(headers.argsrepr)
    if (typeof headers.kwargsrepr === 'string') out.kwargs = clip(headers.kwargsrepr)
  }

  // the body: size always, content only for JSON
  let bodyBytes: Buffer | null = null
  const body = env.body
  if (typeof body !== 'string') {
    out.problem = 'body is not a string'
    return out
  }
  if (out.bodyEncoding === 'base64') {
    bodyBytes = decodeBase64(body)
    if (!bodyBytes) {
      out.problem = 'body is not valid base64'
      return out
    }
  } else {
    bodyBytes = Buffer.from(body, 'utf8')
  }
  out.bodySize = bodyBytes.length

  const ctype = (out.contentType ?? '').toLowerCase().split(';')[0]!.trim()
  if (!JSON_TYPES.has(ctype)) {
    out.status = 'opaque'
    out.problem = `content type ${out.contentType ?? '(none)'} is not decoded`
    return out
  }
  if (typeof headers.compression === 'string') {
    out.status = 'opaque'
    out.problem = `body compressed with ${headers.compression} is not decoded`
    return out
  }
  const needBody = opts.body !== false || !v2 || out.args === null || out.kwargs === null
  if (!needBody) {
    out.status = 'ok'
    return out
  }
  let decoded: unknown
  try {
    decoded = parseTolerant(bodyBytes.toString('utf8'))
  } catch {
    out.problem = 'body is not valid JSON'
    return out
  }
  if (v2) {
    if (!Array.isArray(decoded) || decoded.length < 2) {
      out.problem = 'protocol 2 body is not [args, kwargs, embed]'
      return out
    }
    out.args ??= renderValue(decoded[0])
    out.kwargs ??= renderValue(decoded[1])
    out.status = 'ok'
    return out
  }
  // protocol 1: empty headers, the body is a dict with the task fields
  if (!isObj(decoded) || typeof decoded.task !== 'string') {
    out.problem = 'body is neither protocol 2 (headers.task) nor protocol 1 ({task, id, ...})'
    return out
  }
  out.protocol = 1
  out.task = decoded.task
  out.id = str(decoded.id)
  out.args = renderValue(decoded.args ?? [])
  out.kwargs = renderValue(decoded.kwargs ?? {})
  out.eta = str(decoded.eta)
  out.expires = str(decoded.expires)
  out.retries = int(decoded.retries)
  out.groupId = str(decoded.taskset) ?? str(decoded.group)
  out.status = 'ok'
  return out
}

/** kombu's priority bucket of a message: properties.priority clamped to 0..9, mapped down onto the steps. */
export function priorityBucket(priority: number | null, steps: readonly number[] = [0, 3, 6, 9]): number {
  const p = Math.min(9, Math.max(0, Math.trunc(priority ?? 0)))
  let bucket = steps[0]!
  for (const s of steps) if (s <= p) bucket = s
  return bucket
}

export interface QuickSummary {
  task: string
  eta: string | null
  contentType: string
  opaque: boolean
  badBody: boolean
  redelivered: boolean
  size: number
}

const STR = '"((?:[^"\\\\]|\\\\.)*)"'
const SKIP = '"(?:[^"\\\\]|\\\\.)*"'
// Celery's as_task_v2 header order as kombu serialises it (celery/app/amqp.py; celery-redis-wire.md §3), matched
// from the quote that closes the body string
const QUICK_HEAD = new RegExp(`^", "content-encoding": ${SKIP}, "content-type": ${STR}, "headers": \\{"lang": ${SKIP}, "task": ${STR}, "id": ${SKIP}, "shadow": (?:null|${SKIP}), "eta": (?:null|${STR}), `)
const BODY_START = Buffer.from('{"body": "')
const NEEDLE_BASE64 = Buffer.from('"body_encoding": "base64"')
const NEEDLE_COMPRESSION = Buffer.from('"compression": "')
const NEEDLE_REDELIVERED = Buffer.from('"redelivered": true')
/** 1: base64 alphabet, 2: padding */
const B64 = new Uint8Array(256)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') B64[c.charCodeAt(0)] = 1
B64['='.charCodeAt(0)] = 2

/**
 * The fields `stats` needs, read without a full JSON parse when the message has exactly the layout Celery + kombu
 * write (body first, then content-encoding, content-type, and headers starting lang, task, id, shadow, eta): the
 * body bytes are only checked against the base64 alphabet and never converted to a string. Returns null for
 * anything else, which then goes through the full `decodeMessage`. Gives the same answers as
 * decodeMessage(raw, {body: false}) for the messages it accepts (a unit test compares them).
 */
export function quickSummaryBuf(buf: Buffer): QuickSummary | null {
  const n = buf.length
  if (n < 32 || buf[n - 1] !== 0x7d || buf[n - 2] !== 0x7d) return null
  if (buf.compare(BODY_START, 0, BODY_START.length, 0, BODY_START.length) !== 0) return null
  const end = buf.indexOf(0x22, BODY_START.length)
  if (end < 0) return null
  let pad = 0
  let misplaced = false
  for (let i = BODY_START.length; i < end; i++) {
    const t = B64[buf[i]!]
    if (t === 0) return null
    if (t === 2) pad++
    else if (pad) misplaced = true
  }
  // the headers start right after the body: a window is enough for the regular expression
  const rest = buf.toString('utf8', end, Math.min(n, end + 1024))
  const m = QUICK_HEAD.exec(rest)
  if (!m) return null
  const unescape = (s: string | undefined) => (s === undefined ? null : s.includes('\\') ? (JSON.parse(`"${s}"`) as string) : s)
  const ct = unescape(m[1])!
  // later keys are found by plain search: in valid JSON a quote directly before a key name is always structural
  const isJson = JSON_TYPES.has(ct.toLowerCase().split(';')[0]!.trim())
  const bodyLen = end - BODY_START.length
  const badBody = (bodyLen % 4 !== 0 || pad > 2 || misplaced) && buf.indexOf(NEEDLE_BASE64, end) >= 0
  return {
    task: unescape(m[2])!,
    eta: unescape(m[3]),
    contentType: ct,
    opaque: !isJson || buf.indexOf(NEEDLE_COMPRESSION, end) >= 0,
    badBody,
    redelivered: buf.indexOf(NEEDLE_REDELIVERED, end) >= 0,
    size: n,
  }
}

export function quickSummary(raw: string): QuickSummary | null {
  return quickSummaryBuf(Buffer.from(raw, 'utf8'))
}
