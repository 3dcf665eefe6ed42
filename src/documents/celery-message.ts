/**
 * A Celery task message (protocol 2, JSON, as kombu's Redis transport stores it) for `task.delay(*args, **kwargs)`
 * from Dify: the envelope key order, header order (celery/app/amqp.py as_task_v2 of Celery 5.5/5.6, the releases
 * Dify 1.9–1.15 pin), Python json.dumps separators and ensure_ascii, base64 body, the anonymous exchange with the
 * queue as routing key (reference: celery-redis-wire.md §3). Nothing else differs from what `.delay()` writes than
 * the ids, `origin` and `reply_to`, which are per call anyway. The test compares it with real Celery's output.
 */
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import { dumpsPython } from '../queues/pyjson.js'
import { priorityListKey } from '../dify/queues.js'

export interface TaskCall {
  task: string
  queue: string
  args: unknown[]
  kwargs: Record<string, unknown>
  /** properties.priority; Dify's indexing dispatch sets none (0) */
  priority?: number
}

export interface BuiltMessage {
  id: string
  /** the list (without key prefix) kombu LPUSHes it to */
  list: string
  payload: string
}

/** Python repr of JSON-like values (str, list, dict, int, bool, None), as Celery's saferepr gives for them. */
export function pyRepr(v: unknown, tuple = false): string {
  if (v === null || v === undefined) return 'None'
  if (v === true) return 'True'
  if (v === false) return 'False'
  if (typeof v === 'number') return String(v)
  if (typeof v === 'string') return pyStrRepr(v)
  if (Array.isArray(v)) {
    const inner = v.map((x) => pyRepr(x)).join(', ')
    return tuple ? (v.length === 1 ? `(${inner},)` : `(${inner})`) : `[${inner}]`
  }
  return `{${Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`)
    .join(', ')}}`
}

function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'"
  let out = quote
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (ch === '\\') out += '\\\\'
    else if (ch === quote) out += `\\${quote}`
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`
    else out += ch
  }
  return out + quote
}

const clip = (s: string) => (s.length > 1024 ? s.slice(0, 1024) : s)

/** Build the message `.delay()` would push for `call`. */
export function buildTaskMessage(call: TaskCall, opts: { id?: string; origin?: string } = {}): BuiltMessage {
  const id = opts.id ?? randomUUID()
  const body = dumpsPython([call.args, call.kwargs, { callbacks: null, errbacks: null, chain: null, chord: null }])
  const priority = call.priority ?? 0
  const envelope = {
    body: Buffer.from(body, 'utf8').toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: {
      lang: 'py',
      task: call.task,
      id,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: id,
      parent_id: null,
      argsrepr: clip(pyRepr(call.args, true)),
      kwargsrepr: clip(pyRepr(call.kwargs)),
      origin: opts.origin ?? `gen${process.pid}@${hostname()}`,
      ignore_result: true,
      replaced_task_nesting: 0,
      stamped_headers: null,
      stamps: {},
    },
    properties: {
      correlation_id: id,
      reply_to: randomUUID(),
      delivery_mode: 2,
      delivery_info: { exchange: '', routing_key: call.queue },
      priority,
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  }
  const step = priority >= 9 ? 9 : priority >= 6 ? 6 : priority >= 3 ? 3 : 0
  return { id, list: priorityListKey(call.queue, step), payload: dumpsPython(envelope) }
}
