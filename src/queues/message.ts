/**
 * Decoding of one kombu/Celery message as stored in a Redis list (or inside an `unacked` hash value), protocol 1
 * and 2 (reference: celery-redis-wire.md §3). Only JSON bodies are ever decoded; pickle, yaml, msgpack and any
 * other content type are reported as type and size only. Nothing here throws: a message that cannot be read is
 * returned with `status: 'malformed'` and the reason.
 */
import { parseTolerant } from './pyjson.js'
import { isSecretName, REDACTED } from '../core/redact.js'

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
    status: 'malformed',
    problem: null,
    size,
    protocol: null,
    task: null,
    id: null,
    args: null,
    kwargs: null,
    eta: null,
    expires: null,
    retries: null,
    rootId: null,
    parentId: null,
    groupId: null,
    origin: null,
    contentType: null,
    contentEncoding: null,
    bodyEncoding: null,
    bodySize: null,
    priority: null,
    deliveryTag: null,
    exchange: null,
    routingKey: null,
    redelivered: false,
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
  return clip(
    JSON.stringify(v, (_k, x) => (isObj(x) && '__type__' in x && '__value__' in x ? x.__value__ : x)) ?? 'null',
  )
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

/** keyword arguments that carry credentials (Dify's invite-mail `token`, verification-mail `code`, …) */
const secretKwarg = (name: string) => isSecretName(name) || /^(code|token)$/i.test(name)

/**
 * Task keyword arguments with the values of secret-named keys replaced by ***: a Python repr string
 * (`kwargsrepr`: `{'to': 'a@b', 'token': '…'}`) or a decoded dict. Anything else is returned as it is.
 */
export function redactKwargs(v: unknown): unknown {
  if (typeof v === 'string') {
    return v.replace(
      /(['"])([A-Za-z_][A-Za-z0-9_]*)\1(\s*:\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^,}]+)/g,
      (m, q: string, k: string, sep: string) => (secretKwarg(k) ? `${q}${k}${q}${sep}'${REDACTED}'` : m),
    )
  }
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, secretKwarg(k) ? REDACTED : x]))
  return v
}

export function decodeEnvelope(
  env: Record<string, unknown>,
  out: DecodedMessage = empty(0),
  opts: { body?: boolean } = {},
): DecodedMessage {
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
    if (typeof headers.kwargsrepr === 'string') out.kwargs = clip(redactKwargs(headers.kwargsrepr) as string)
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
    out.kwargs ??= renderValue(redactKwargs(decoded[1]))
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
  out.kwargs = renderValue(redactKwargs(decoded.kwargs ?? {}))
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
  redelivered: boolean
  size: number
}

// Celery's as_task_v2 header order as kombu serialises it (celery/app/amqp.py; celery-redis-wire.md §3), matched
// (sticky) from the quote that closes the body string. The captured values must be printable ASCII (the text is
// Latin-1, which reads the same as UTF-8 only there; kombu writes ensure_ascii JSON anyway)
const QUICK_HEAD =
  /", "content-encoding": "(?:[^"\\]|\\.)*", "content-type": "((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*)", "headers": \{"lang": "(?:[^"\\]|\\.)*", "task": "((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*)", "id": "(?:[^"\\]|\\.)*", "shadow": (?:null|"(?:[^"\\]|\\.)*"), "eta": (?:null|"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*)"), /y
// the later keys stats cares about, found in one pass. A match is a key when a quote opens it (checked after the
// match: a leading quote in the pattern makes the search about twice as slow); it is never inside a string value,
// where the quote that follows the name would be escaped
const QUICK_KEYS = /(?:redelivered": true|compression": "|kwargsrepr": "|argsrepr": ")/g
const BODY_START = '{"body": "'

const notBetween = (s: string, c: string, from: number, to: number) => {
  const i = s.indexOf(c, from)
  return i < 0 || i >= to
}
const unescape = (x: string) => (x.includes('\\') ? (JSON.parse(`"${x}"`) as string) : x)

/**
 * The fields `stats` needs, read without a full JSON parse when the message has exactly the layout Celery + kombu
 * write (body first, then content-encoding, content-type, and headers starting lang, task, id, shadow, eta, with
 * argsrepr and kwargsrepr): the message is read as one Latin-1 string (a byte per character, no UTF-8 decoding).
 * A base64 body is validated by Node's native decoder, which is lenient: it skips characters outside the alphabet,
 * so its output length is compared with the length the text implies, and "-" "_" (which it accepts) and JSON
 * escapes are refused beforehand; the body is never parsed. Returns null for anything else (a body that fails the
 * check, a non-ASCII task name or content type…), which then goes through the full `decodeMessage`. Gives the same answers as decodeMessage(raw, {body: false}) for the
 * messages it accepts (a unit test compares them). Reads buf[start, stop).
 */
export function quickSummaryBuf(buf: Buffer, start = 0, stop = buf.length): QuickSummary | null {
  const n = stop - start
  if (n < 32 || buf[stop - 1] !== 0x7d || buf[stop - 2] !== 0x7d) return null
  const s = buf.toString('latin1', start, stop)
  if (!s.startsWith(BODY_START)) return null
  const b0 = BODY_START.length
  const end = s.indexOf('"', b0)
  if (end < 0) return null
  QUICK_HEAD.lastIndex = end
  const m = QUICK_HEAD.exec(s)
  if (!m) return null
  const after = QUICK_HEAD.lastIndex
  // the body is plain base64 when it holds none of the characters Node's lenient decoder accepts beyond the
  // alphabet (or that mean something else once JSON-decoded), and the decoded length is the one the text implies
  // (every character the decoder skips shortens it); anything else is left to decodeMessage
  const len = end - b0
  let pad = 0
  while (pad < len && s.charCodeAt(end - 1 - pad) === 0x3d) pad++
  let valid =
    len % 4 === 0 &&
    pad <= 2 &&
    notBetween(s, '\\', b0, end) &&
    notBetween(s, '-', b0, end) &&
    notBetween(s, '_', b0, end)
  if (valid && Buffer.from(s.substring(b0, end), 'base64').length !== (len / 4) * 3 - pad) valid = false
  if (!valid && s.indexOf('"body_encoding": "base64"', after) >= 0) return null
  let redelivered = false
  let compressed = false
  let reprs = 0
  QUICK_KEYS.lastIndex = after
  for (let k = QUICK_KEYS.exec(s); k; k = QUICK_KEYS.exec(s)) {
    if (s.charCodeAt(k.index - 1) !== 0x22) continue
    const c = s.charCodeAt(k.index)
    if (c === 0x72) redelivered = true
    else if (c === 0x63) compressed = true
    else reprs |= c === 0x6b ? 2 : 1
  }
  // without both reprs, decodeMessage reads the body
  if (reprs !== 3) return null
  const ct = m[1]!
  const task = m[2]!
  const eta = m[3]
  const contentType = unescape(ct)
  const isJson = JSON_TYPES.has(contentType) || JSON_TYPES.has(contentType.toLowerCase().split(';')[0]!.trim())
  return {
    task: unescape(task),
    eta: eta === undefined ? null : unescape(eta),
    contentType,
    opaque: !isJson || compressed,
    redelivered,
    size: n,
  }
}

export function quickSummary(raw: string): QuickSummary | null {
  return quickSummaryBuf(Buffer.from(raw, 'utf8'))
}
