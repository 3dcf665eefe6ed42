/**
 * The broker key model (reference: celery-redis-wire.md §2): a queue is up to four LISTs (the bare name for
 * priorities 0-2, then "<q>\x06\x163", "…6", "…9"), consumed bare-first; producers LPUSH and workers BRPOP, so the
 * tail (index -1) is the next message. Every key is built with the broker's key prefix (kombu global_keyprefix).
 */
import type { Redis } from 'ioredis'
import { PRIORITY_SEP, PRIORITY_STEPS, priorityListKey } from '../dify/queues.js'
import { celeryKeys, globEscape } from '../dify/keys.js'

export interface Broker {
  client: Redis
  /** "" or "<prefix>:" (kombu global_keyprefix) */
  prefix: string
  /** the broker DB index (it is part of Pub/Sub channel names) */
  db: number
}

export interface PriorityList {
  priority: number
  key: string
}

/** The prefixed list keys of a queue, in consumption order (priority 0 first). */
export function queueLists(b: Broker, queue: string): PriorityList[] {
  return PRIORITY_STEPS.map((priority) => ({ priority, key: b.prefix + priorityListKey(queue, priority) }))
}

/** Each priority list of a queue with its length (one pipelined LLEN each), and the lengths by priority. */
export async function queueListLengths(
  b: Broker,
  queue: string,
): Promise<{ lists: Array<PriorityList & { length: number }>; byPriority: Record<string, number> }> {
  const lists = queueLists(b, queue)
  const pipe = b.client.pipeline()
  for (const l of lists) pipe.llen(l.key)
  const res = (await pipe.exec()) ?? []
  const withLength = lists.map((l, i) => ({ ...l, length: Number(res[i]?.[1] ?? 0) }))
  return { lists: withLength, byPriority: Object.fromEntries(withLength.map((l) => [String(l.priority), l.length])) }
}

export interface BindingEntry {
  routingKey: string
  pattern: string
  queue: string
}

/** A member of `_kombu.binding.<exchange>`: "<routing_key>\x06\x16<pattern>\x06\x16<queue>". */
export function parseBindingMember(member: string): BindingEntry | null {
  const parts = member.split(PRIORITY_SEP)
  if (parts.length !== 3) return null
  return { routingKey: parts[0]!, pattern: parts[1]!, queue: parts[2]! }
}

export function bindingMember(e: BindingEntry): string {
  return [e.routingKey, e.pattern, e.queue].join(PRIORITY_SEP)
}

/** Exchanges and queues that belong to Celery's own machinery, not to tasks. */
export function isInternalExchange(exchange: string): boolean {
  return (
    exchange === celeryKeys.pidboxExchange || exchange === celeryKeys.pidboxReplyExchange || exchange === 'celeryev'
  )
}
export function isInternalQueue(queue: string): boolean {
  return queue.endsWith('.celery.pidbox') || queue.startsWith('celeryev.')
}

/** The queue name of a list key (prefix and priority suffix removed), or null for another prefix. */
export function queueOfListKey(b: Broker, key: string): { queue: string; priority: number } | null {
  if (!key.startsWith(b.prefix)) return null
  const name = key.slice(b.prefix.length)
  const i = name.lastIndexOf(PRIORITY_SEP)
  if (i >= 0) {
    const p = Number(name.slice(i + PRIORITY_SEP.length))
    if (Number.isInteger(p) && (PRIORITY_STEPS as readonly number[]).includes(p))
      return { queue: name.slice(0, i), priority: p }
  }
  return { queue: name, priority: 0 }
}

/** SCAN every key matching `pattern` (optionally of one TYPE); COUNT 1000 per step. */
export async function scanAll(client: Redis, pattern: string, type?: string): Promise<string[]> {
  const out = new Set<string>()
  let cursor = '0'
  do {
    const args: Array<string | number> = [cursor, 'MATCH', pattern, 'COUNT', 1000]
    if (type) args.push('TYPE', type)
    const [next, keys] = await (
      client as unknown as { scan(...a: Array<string | number>): Promise<[string, string[]]> }
    ).scan(...args)
    cursor = next
    for (const k of keys) out.add(k)
  } while (cursor !== '0')
  return [...out]
}

/** Every binding set: exchange -> entries. */
export async function readBindings(b: Broker): Promise<Map<string, BindingEntry[]>> {
  const keys = await scanAll(b.client, celeryKeys.bindingPattern(b.prefix))
  const start = celeryKeys.bindingPrefix(b.prefix).length
  const pipe = b.client.pipeline()
  for (const k of keys) pipe.smembers(k)
  const res = keys.length ? ((await pipe.exec()) ?? []) : []
  const out = new Map<string, BindingEntry[]>()
  keys.forEach((k, i) => {
    const members = (res[i]?.[1] as string[] | undefined) ?? []
    out.set(
      k.slice(start),
      members.map(parseBindingMember).filter((e): e is BindingEntry => e !== null),
    )
  })
  return out
}

/** Task queues discovered from the bindings and from existing list keys (internal pidbox/celeryev ones excluded). */
export async function discoverQueues(b: Broker): Promise<{ bound: Set<string>; lists: Set<string> }> {
  const [bindings, listKeys] = await Promise.all([
    readBindings(b),
    scanAll(b.client, `${globEscape(b.prefix)}*`, 'list'),
  ])
  const bound = new Set<string>()
  for (const [exchange, entries] of bindings) {
    if (isInternalExchange(exchange)) continue
    for (const e of entries) if (!isInternalQueue(e.queue)) bound.add(e.queue)
  }
  const lists = new Set<string>()
  for (const k of listKeys) {
    const q = queueOfListKey(b, k)
    if (q && !isInternalQueue(q.queue)) lists.add(q.queue)
  }
  return { bound, lists }
}

/**
 * The queues a message published to (exchange, routing_key) goes to, as kombu's `_lookup`: the anonymous exchange
 * "" routes to the queue named by the routing key; otherwise the exchange's binding set decides (direct: equal
 * routing key; topic: pattern match; a set whose entries all have empty routing keys behaves as fanout).
 */
export async function lookupQueues(b: Broker, exchange: string, routingKey: string): Promise<string[]> {
  if (!exchange) return routingKey ? [routingKey] : []
  const members = await b.client.smembers(celeryKeys.binding(exchange, b.prefix))
  const entries = members.map(parseBindingMember).filter((e): e is BindingEntry => e !== null)
  const out = new Set<string>()
  for (const e of entries) {
    if (e.pattern) {
      if (topicMatch(e.pattern, routingKey)) out.add(e.queue)
    } else if (e.routingKey === routingKey || e.routingKey === '') out.add(e.queue)
  }
  return [...out]
}

/** AMQP topic matching: "*" one word, "#" zero or more words. */
export function topicMatch(pattern: string, key: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .split('.')
        .map((w) =>
          w === '#' ? '(?:[^.]*(?:\\.[^.]*)*)?' : w === '*' ? '[^.]*' : w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('\\.') +
      '$',
  )
  return re.test(key)
}
