/**
 * Celery remote control (pidbox) over Redis without Python (reference: celery-redis-wire.md §4.2): declare our
 * reply queue in `_kombu.binding.reply.celery.pidbox` BEFORE publishing (otherwise workers drop the reply), PUBLISH
 * the control message on the fanout channel "/<db>.celery.pidbox" (its return value is the number of listening
 * workers), BRPOP replies until every worker answered every request or the broker stayed silent for `timeoutMs`,
 * and always remove the binding member and the reply lists afterwards.
 */
import { randomUUID } from 'node:crypto'
import { celeryKeys } from '../dify/keys.js'
import { redactDeep } from '../core/redact.js'
import { bindingMember, queueLists, type Broker } from './broker.js'
import { decodeBase64 } from './message.js'
import { parseTolerant } from './pyjson.js'

export interface ControlRequest {
  method: string
  arguments?: Record<string, unknown>
}

export interface BroadcastResult {
  /** listeners that received the broadcast (PUBLISH's return value) */
  receivers: number
  /** method -> nodename -> reply */
  replies: Record<string, Record<string, unknown>>
  elapsedMs: number
}

let clock = 1

/** The kombu envelope of a control message (JSON body, base64). */
export function controlEnvelope(
  req: ControlRequest,
  ticket: string,
  oid: string,
  timeoutMs: number,
  destination: string[] | null,
): string {
  const body = {
    method: req.method,
    arguments: req.arguments ?? {},
    destination,
    pattern: null,
    matcher: null,
    ticket,
    reply_to: { exchange: celeryKeys.pidboxReplyExchange, routing_key: oid },
  }
  return JSON.stringify({
    body: Buffer.from(JSON.stringify(body)).toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: { clock: clock++, expires: Date.now() / 1000 + timeoutMs / 1000 },
    properties: {
      delivery_mode: 2,
      delivery_info: { exchange: celeryKeys.pidboxExchange, routing_key: '' },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  })
}

/**
 * Broadcast several read-only control requests at once and collect the replies. Resolves early when every
 * receiver answered every request; otherwise after `timeoutMs` without a reply (as `celery inspect` does).
 */
export async function broadcast(
  b: Broker,
  requests: ControlRequest[],
  opts: { timeoutMs: number; destination?: string[]; signal?: AbortSignal },
): Promise<BroadcastResult> {
  const started = Date.now()
  const oid = randomUUID()
  const replyQueue = celeryKeys.pidboxReplyQueue(oid)
  const member = bindingMember({ routingKey: oid, pattern: '', queue: replyQueue })
  const bindingKey = celeryKeys.binding(celeryKeys.pidboxReplyExchange, b.prefix)
  const replyKeys = queueLists(b, replyQueue).map((l) => l.key)
  const replies: Record<string, Record<string, unknown>> = {}
  const tickets = new Map<string, string>()
  for (const r of requests) replies[r.method] = {}
  let receivers = 0
  // the reply route must exist before any worker can answer
  await b.client.sadd(bindingKey, member)
  try {
    const pipe = b.client.pipeline()
    for (const r of requests) {
      const ticket = randomUUID()
      tickets.set(ticket, r.method)
      pipe.publish(
        celeryKeys.pidboxChannel(b.db, b.prefix),
        controlEnvelope(r, ticket, oid, opts.timeoutMs, opts.destination ?? null),
      )
    }
    const res = (await pipe.exec()) ?? []
    receivers = Math.max(0, ...res.map((x) => Number(x[1] ?? 0)))
    if (receivers === 0) return { receivers, replies, elapsedMs: Date.now() - started }
    const expected = opts.destination ? Math.min(opts.destination.length, receivers) : receivers
    const complete = () => requests.every((r) => Object.keys(replies[r.method]!).length >= expected)
    while (!complete() && !opts.signal?.aborted) {
      const popped = await b.client.brpop(...replyKeys, Math.max(0.01, opts.timeoutMs / 1000))
      if (!popped) break // silence for timeoutMs
      const reply = decodeReply(popped[1])
      if (!reply) continue
      const method = tickets.get(reply.ticket)
      if (!method) continue // another client's ticket
      for (const [node, value] of Object.entries(reply.body)) replies[method]![node] = sanitizeReply(method, value)
    }
  } finally {
    await b.client
      .pipeline()
      .srem(bindingKey, member)
      .del(...replyKeys)
      .exec()
      .catch(() => {})
  }
  return { receivers, replies, elapsedMs: Date.now() - started }
}

function decodeReply(raw: string): { ticket: string; body: Record<string, unknown> } | null {
  try {
    const env = parseTolerant(raw) as {
      body?: unknown
      headers?: { ticket?: unknown }
      properties?: { body_encoding?: unknown }
      'content-type'?: unknown
    }
    if (typeof env?.body !== 'string' || typeof env.headers?.ticket !== 'string') return null
    if (env['content-type'] !== 'application/json') return null
    const bytes = env.properties?.body_encoding === 'base64' ? decodeBase64(env.body) : Buffer.from(env.body)
    if (!bytes) return null
    const body = parseTolerant(bytes.toString('utf8'))
    if (!body || typeof body !== 'object' || Array.isArray(body)) return null
    return { ticket: env.headers.ticket, body: body as Record<string, unknown> }
  } catch {
    return null
  }
}

/** Strip secrets from stats/conf replies (broker transport_options echo the Sentinel password; conf holds anything). */
export function sanitizeReply(method: string, value: unknown): unknown {
  if (method !== 'stats' && method !== 'conf') return value
  return redactDeep(value)
}
