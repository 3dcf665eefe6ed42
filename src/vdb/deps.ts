import type { Runtime } from '../runtime/index.js'
import { loadProfile, checkSupported } from '../dify/schema-version.js'
import { openVectorStore, storeOptionsFor } from '../vector/index.js'
import type { RedisKeyDeps } from '../vector/redis-keys.js'
import { liveSetDeps } from '../dify/live-set.js'
import { StorePool, type VdbDeps } from './check.js'

/**
 * The dependencies of the vdb commands from a runtime: the metadata database, its profile, and a pool of stores
 * opened on first use. `redis` (writes only): Dify's collection-exists keys are cleared when a collection is created;
 * 'if-reachable' opens the Runtime's Redis and goes on without it (with a warning) when it cannot.
 */
export async function vdbDeps(
  rt: Runtime,
  opts: { writes: boolean; forceVersion?: boolean; redis?: RedisKeyDeps | 'if-reachable'; warn?: (s: string) => void },
): Promise<VdbDeps> {
  let redis = opts.redis === 'if-reachable' ? undefined : opts.redis
  if (opts.redis === 'if-reachable') {
    try {
      const r = await rt.redis()
      redis = { client: r.client, keyPrefix: r.keyPrefix }
    } catch {
      opts.warn?.(
        "Redis is not reachable: Dify's vector_indexing_<collection> keys cannot be cleared if a collection is created.",
      )
    }
  }
  const db = await rt.db()
  const profile = await loadProfile(db, { difyRoot: rt.config.difyRoot })
  const w = checkSupported(profile, { writes: opts.writes, force: opts.forceVersion })
  if (w) opts.warn?.(w)
  const stores = new StorePool((type) =>
    openVectorStore(rt.config, { type, ...storeOptionsFor(profile), ...(redis ? { redis } : {}) }),
  )
  return { ...liveSetDeps(db, profile, rt.config), stores }
}
