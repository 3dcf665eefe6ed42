import { keys } from '../dify/keys.js'

/** The app-cache Redis client and REDIS_KEY_PREFIX ("" or "<p>:") — the shape of runtime's OpenedRedis. */
export interface RedisKeyDeps {
  client: { del(...keys: string[]): Promise<number> }
  keyPrefix: string
}

/**
 * Dify caches "collection exists" for an hour under vector_indexing_<collection> (lock vector_indexing_lock_<…>).
 * After we create or drop a collection behind Dify's back, those keys must go, as Dify's own Vector.delete() does.
 */
export async function clearCollectionKeys(redis: RedisKeyDeps | undefined, collection: string): Promise<void> {
  if (!redis) return
  await redis.client.del(keys.vectorIndexing(collection, redis.keyPrefix), keys.vectorIndexingLock(collection, redis.keyPrefix))
}
