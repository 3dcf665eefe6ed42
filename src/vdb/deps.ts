import type { Runtime } from '../runtime/index.js'
import { loadProfile, checkSupported } from '../dify/schema-version.js'
import { openVectorStore, storeOptionsFor } from '../vector/index.js'
import type { RedisKeyDeps } from '../vector/redis-keys.js'
import { liveSetDeps } from '../dify/live-set.js'
import { StorePool, type VdbDeps } from './check.js'

/**
 * The dependencies of the vdb commands from a runtime: the metadata database, its profile, and a pool of stores
 * opened on first use. `redis` (writes only): Dify's collection-exists keys are cleared when a collection is created.
 */
export async function vdbDeps(
  rt: Runtime,
  opts: { writes: boolean; forceVersion?: boolean; redis?: RedisKeyDeps; warn?: (s: string) => void },
): Promise<VdbDeps> {
  const db = await rt.db()
  const profile = await loadProfile(db, { difyRoot: rt.config.difyRoot })
  const w = checkSupported(profile, { writes: opts.writes, force: opts.forceVersion })
  if (w) opts.warn?.(w)
  const stores = new StorePool((type) =>
    openVectorStore(rt.config, { type, ...storeOptionsFor(profile), ...(opts.redis ? { redis: opts.redis } : {}) }),
  )
  return { ...liveSetDeps(db, profile, rt.config), stores }
}
