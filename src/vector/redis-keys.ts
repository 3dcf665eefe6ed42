import { keys } from '../dify/keys.js'

/** The app-cache Redis client and REDIS_KEY_PREFIX ("" or "<p>:") — the shape of runtime's OpenedRedis. */
export interface RedisKeyDeps {
  client: { del(...keys: string[]): Promise<number> }
  keyPrefix: string
}

/**
 * Dify caches "collection exists" for an hour under vector_indexing_<collection> (its create lock is next to it;
 * both names are per store, see keys.vectorIndexing). After we create or drop a collection behind Dify's back the
 * cache key must go, as Dify's own Vector.delete() does; the lock is cleared too, so that a lock left by a killed
 * worker does not hold Dify's next create for its 20 s timeout (vdb-migrate refuses to run while Dify indexes).
 */
export async function clearCollectionKeys(
  redis: RedisKeyDeps | undefined,
  store: string,
  collection: string,
): Promise<void> {
  if (!redis) return
  await redis.client.del(
    keys.vectorIndexing(store, collection, redis.keyPrefix),
    keys.vectorIndexingLock(store, collection, redis.keyPrefix),
  )
}
