/**
 * Deleting the Redis caches that hold a tenant's private key or its decrypted credentials (§5 "Redis caches"):
 * `tenant_privkey:<sha3>` (TTL 120 s) and the 24-hour credential caches keyed `…_credentials:tenant_id:<tid>:…` and
 * `trigger_…:tenant_id:<tid>:…`. Key formats live in src/dify/keys.ts.
 */
import type { Redis as RedisClient } from 'ioredis'
import type { OpenedRedis } from '../runtime/redis.js'
import { globEscape, keys } from '../dify/keys.js'

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Delete the caches of these tenants; returns how many keys were deleted. One SCAN pass whatever the tenant count. */
export async function deleteTenantCaches(redis: OpenedRedis, tenantIds: string[]): Promise<number> {
  if (!tenantIds.length) return 0
  const prefix = redis.keyPrefix
  const wanted = new Set(tenantIds)
  let deleted = 0
  const privkeys = tenantIds.map((t) => keys.tenantPrivkey(t, prefix))
  for (let i = 0; i < privkeys.length; i += 500) {
    const chunk = privkeys.slice(i, i + 500)
    // one DEL per key: works on a cluster too (keys of different slots)
    const res = await Promise.all(chunk.map((k) => redis.client.del(k)))
    deleted += res.reduce((a, n) => a + n, 0)
  }
  // the SCAN patterns of keys.tenantCredentialCachePatterns, matched for many tenants at once
  const shape = new RegExp(`^${escape(prefix)}(?:[A-Za-z0-9_-]+_credentials|trigger_[a-z_]+):tenant_id:([^:]+):`)
  const sample = keys.tenantCredentialCachePatterns('x', prefix)
  if (!sample.every((p) => p.includes(':tenant_id:'))) throw new Error('cache key patterns changed')
  const nodes: RedisClient[] =
    'nodes' in redis.client && typeof redis.client.nodes === 'function' && redis.client.constructor.name === 'Cluster'
      ? (redis.client as unknown as { nodes(role: string): RedisClient[] }).nodes('master')
      : [redis.client as RedisClient]
  for (const node of nodes) {
    let cursor = '0'
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', `${globEscape(prefix)}*:tenant_id:*`, 'COUNT', 1000)
      cursor = next
      const doomed = found.filter((k) => {
        const m = shape.exec(k)
        return m !== null && wanted.has(m[1]!)
      })
      for (const k of doomed) deleted += await node.del(k)
    } while (cursor !== '0')
  }
  return deleted
}
