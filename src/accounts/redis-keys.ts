/**
 * The account-related Redis state of Dify: refresh-token sessions and per-email lock-out counters / rate limiters.
 * Every key goes through `keys` (src/dify/keys.ts) with the runtime's keyPrefix. SCANs are batched and the
 * follow-up GET/DEL/TTL calls pipelined per batch; on a Cluster every master is scanned on its own connection.
 */
import type { Redis } from 'ioredis'
import type { OpenedRedis, RedisHandle } from '../runtime/redis.js'
import {
  LOCKOUT_COUNTERS,
  RATE_LIMITERS,
  caseInsensitiveGlob,
  globEscape,
  keys,
  type EmailKeyKind,
} from '../dify/keys.js'

export const SCAN_COUNT = 1000

/** The standalone connections that together hold every key (the masters of a Cluster). */
function scanTargets(client: RedisHandle): Redis[] {
  const c = client as RedisHandle & { nodes?: (role: string) => Redis[]; isCluster?: boolean }
  if (c.isCluster && typeof c.nodes === 'function') return c.nodes('master')
  return [client as Redis]
}

/** SCAN `pattern` on every node; `onBatch` gets each non-empty batch with the connection that holds it. */
export async function scanBatches(
  client: RedisHandle,
  pattern: string,
  onBatch: (node: Redis, keys: string[]) => Promise<void>,
): Promise<void> {
  for (const node of scanTargets(client)) {
    let cursor = '0'
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)
      cursor = next
      if (batch.length) await onBatch(node, [...new Set(batch)])
    } while (cursor !== '0')
  }
}

async function pipelined<T>(node: Redis, build: (p: ReturnType<Redis['pipeline']>) => void): Promise<T[]> {
  const p = node.pipeline()
  build(p)
  const res = (await p.exec()) ?? []
  return res.map(([err, v]) => {
    if (err) throw err
    return v as T
  })
}

// ---------------------------------------------------------------- sessions

export interface SessionKeys {
  /** `account_refresh_token:<id>` when it exists */
  accountKey: string | null
  /** every `refresh_token:<token>` whose value is the account id (the keys, never printed: they hold live tokens) */
  refreshKeys: string[]
}

/** Find the refresh-token sessions of the accounts (one SCAN for all of them). */
export async function findSessions(r: OpenedRedis, accountIds: string[]): Promise<Map<string, SessionKeys>> {
  const ids = new Set(accountIds)
  const out = new Map<string, SessionKeys>()
  for (const id of accountIds) out.set(id, { accountKey: null, refreshKeys: [] })
  if (!ids.size) return out
  await scanBatches(r.client, keys.refreshTokenPattern(r.keyPrefix), async (node, batch) => {
    const values = await pipelined<string | null>(node, (p) => batch.forEach((k) => p.get(k)))
    batch.forEach((k, i) => {
      const v = values[i]
      if (v && ids.has(v)) out.get(v)!.refreshKeys.push(k)
    })
  })
  for (const id of accountIds) {
    const k = keys.accountRefreshToken(id, r.keyPrefix)
    if ((await r.client.exists(k)) === 1) out.get(id)!.accountKey = k
  }
  return out
}

export interface RevokeResult {
  /** refresh_token:* keys deleted */
  refreshTokensDeleted: number
  /** whether account_refresh_token:<id> was deleted */
  accountKeyDeleted: boolean
}

/**
 * Revoke every refresh-token session of one account: DEL `account_refresh_token:<id>` and every `refresh_token:*`
 * whose value is the id (DEL is batched per SCAN batch; a key that expired meanwhile simply counts 0).
 */
export async function revokeSessions(r: OpenedRedis, accountId: string): Promise<RevokeResult> {
  let refreshTokensDeleted = 0
  await scanBatches(r.client, keys.refreshTokenPattern(r.keyPrefix), async (node, batch) => {
    const values = await pipelined<string | null>(node, (p) => batch.forEach((k) => p.get(k)))
    const mine = batch.filter((_, i) => values[i] === accountId)
    if (mine.length) {
      const n = await pipelined<number>(node, (p) => mine.forEach((k) => p.del(k)))
      refreshTokensDeleted += n.reduce((a, b) => a + b, 0)
    }
  })
  const accountKeyDeleted = (await r.client.del(keys.accountRefreshToken(accountId, r.keyPrefix))) > 0
  return { refreshTokensDeleted, accountKeyDeleted }
}

// ---------------------------------------------------------------- per-email keys

export interface EmailKeyState {
  kind: EmailKeyKind
  /** the email part of the key exactly as stored */
  email: string
  /** the full key (with the prefix) */
  key: string
  /** counter value (lock-out counters) or number of entries (rate limiters) */
  count: number
  /** seconds left, null when the key has no TTL */
  ttlSeconds: number | null
  /** for lock-out counters: whether Dify refuses now (count > 5) */
  locked?: boolean
}

/** Dify's LOGIN_MAX_ERROR_LIMITS and the other *_MAX_ERROR_LIMITS: locked when the counter exceeds 5. */
export const MAX_ERROR_LIMIT = 5

export function isLockoutCounter(kind: EmailKeyKind): boolean {
  return (LOCKOUT_COUNTERS as readonly string[]).includes(kind)
}

/**
 * The existing per-email keys of the given kinds for every case variant of `email` (exact filter after a
 * case-insensitive glob SCAN), plus `extraForms` (e.g. the email as typed) when they exist.
 */
export async function findEmailKeys(
  r: OpenedRedis,
  email: string,
  kinds: readonly EmailKeyKind[] = [...LOCKOUT_COUNTERS, ...RATE_LIMITERS],
): Promise<EmailKeyState[]> {
  const wanted = email.toLowerCase()
  const found: Array<{ node: Redis; kind: EmailKeyKind; key: string; email: string }> = []
  const glob = caseInsensitiveGlob(email)
  const head = r.keyPrefix
  // every kind ends in "_rate_limit": one SCAN covers them all (a SCAN walks the whole key space whatever its MATCH)
  const pattern =
    kinds.length === 1
      ? keys.emailKeyPattern(kinds[0]!, glob, r.keyPrefix)
      : `${globEscape(r.keyPrefix)}*_rate_limit:${glob}`
  await scanBatches(r.client, pattern, async (node, batch) => {
    for (const k of batch) {
      if (!k.startsWith(head)) continue
      const rest = k.slice(head.length)
      const kind = kinds.find((kd) => rest.startsWith(`${kd}:`))
      if (!kind) continue
      const e = rest.slice(kind.length + 1)
      if (e.toLowerCase() === wanted) found.push({ node, kind, key: k, email: e })
    }
  })
  const out: EmailKeyState[] = []
  for (const f of found) {
    const counter = isLockoutCounter(f.kind)
    const [value, ttl] = await pipelined<string | number | null>(f.node, (p) => {
      if (counter) p.get(f.key)
      else p.zcard(f.key)
      p.ttl(f.key)
    })
    if (value === null || ttl === -2) continue // expired meanwhile
    const count = Number(value)
    out.push({
      kind: f.kind,
      email: f.email,
      key: f.key,
      count: Number.isFinite(count) ? count : 0,
      ttlSeconds: typeof ttl === 'number' && ttl >= 0 ? ttl : null,
      ...(counter ? { locked: count > MAX_ERROR_LIMIT } : {}),
    })
  }
  return out.sort((a, b) => (a.kind + a.email).localeCompare(b.kind + b.email))
}

/** Delete exact keys one by one (a multi-key DEL fails across Cluster slots); returns how many existed. */
export async function deleteKeys(r: OpenedRedis, list: string[]): Promise<number> {
  let n = 0
  for (const k of list) n += await r.client.del(k)
  return n
}
