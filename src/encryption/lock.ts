/**
 * One tenant's key-pair lock in Redis (`dify_ops:encryption_lock:<tenant_id>`, src/dify/keys.ts): `SET NX PX` with a
 * token `<hostname>:<pid>:<random>`, renewed by its owner (compare-and-PEXPIRE) while held, released by
 * compare-and-delete. rotate, reset and restore-key take it around everything they do to one tenant, so two runs never
 * interleave on one key; inside, their transaction also locks the tenant row (SELECT … FOR UPDATE).
 *
 * A run that was killed (SIGKILL, OOM) leaves its lock behind: it expires TENANT_LOCK_TTL_MS after its last renewal,
 * and sooner when the holder ran on this host and its process no longer exists (the rerun in the same container
 * then takes over at once).
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { OpenedRedis } from '../runtime/redis.js'
import { keys } from '../dify/keys.js'

const LUA_RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`
const LUA_RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`

export const TENANT_LOCK_TTL_MS = 15_000
/** how long a run waits for another run's lock on the same tenant before giving up on that tenant */
export const TENANT_LOCK_WAIT_MS = 120_000

export class TenantBusyError extends Error {
  readonly busy = true
}

export interface TenantLock {
  key: string
  release(): Promise<void>
}

export async function acquireTenantLock(
  redis: OpenedRedis,
  tenantId: string,
  opts: { waitMs?: number; ttlMs?: number; signal?: AbortSignal } = {},
): Promise<TenantLock> {
  const key = keys.encryptionTenantLock(tenantId, redis.keyPrefix)
  const token = `${hostname()}:${process.pid}:${randomUUID()}`
  const ttl = opts.ttlMs ?? TENANT_LOCK_TTL_MS
  const deadline = Date.now() + (opts.waitMs ?? TENANT_LOCK_WAIT_MS)
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    if ((await redis.client.set(key, token, 'PX', ttl, 'NX')) === 'OK') break
    const holder = await redis.client.get(key)
    if (holder !== null && isDeadLocalHolder(holder)) {
      // its owner is gone: remove exactly that value (compare-and-delete) and try again at once
      await redis.client.eval(LUA_RELEASE, 1, key, holder)
      continue
    }
    if (Date.now() >= deadline || opts.signal?.aborted) {
      const left = await redis.client.pttl(key)
      throw new TenantBusyError(
        `busy: another dify-ops run holds ${key}${left > 0 ? ` (expires in ${Math.ceil(left / 1000)} s unless renewed)` : ''}; run again when it has finished`,
      )
    }
    await new Promise((r) => setTimeout(r, delay))
  }
  const timer = setInterval(
    () => void redis.client.eval(LUA_RENEW, 1, key, token, String(ttl)).catch(() => {}),
    Math.max(50, Math.floor(ttl / 3)),
  )
  timer.unref()
  return {
    key,
    async release() {
      clearInterval(timer)
      await redis.client.eval(LUA_RELEASE, 1, key, token).catch(() => {})
    },
  }
}

/** the lock value names a process of this host that no longer exists */
function isDeadLocalHolder(value: string): boolean {
  const m = /^(.*):(\d+):[0-9a-f-]{36}$/.exec(value)
  if (!m || m[1] !== hostname()) return false
  const pid = Number(m[2])
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

/** run `f` holding the tenant's lock */
export async function withTenantLock<T>(
  redis: OpenedRedis,
  tenantId: string,
  opts: { waitMs?: number; signal?: AbortSignal },
  f: () => Promise<T>,
): Promise<T> {
  const lock = await acquireTenantLock(redis, tenantId, opts)
  try {
    return await f()
  } finally {
    await lock.release()
  }
}
