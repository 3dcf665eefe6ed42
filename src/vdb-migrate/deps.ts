/** Wiring between the Runtime and the vdb-migrate domain: the database and its release, Redis, the stores. */
import type { Runtime } from '../runtime/index.js'
import type { Db } from '../core/db.js'
import { difyTextHash, lookupEmbeddings } from '../dify/embedding-cache.js'
import type { DifyProfile } from '../dify/profile.js'
import { loadProfile } from '../dify/schema-version.js'
import { storeOptionsFor } from '../vector/index.js'
import { openStore, sourceOpener } from './prepare.js'
import type { EmbeddingCachePort, OpenedStore } from './types.js'

export interface VdbMigrateDeps {
  db: Db
  /** the release facts of the metadata database (the release check ran when it was opened) */
  profile: DifyProfile
  /** Dify's Redis (collection-exists keys, checkpoints with --checkpoint redis); none under --dry-run */
  redis?: { client: unknown; keyPrefix: string }
  /** the store of VECTOR_STORE */
  target: OpenedStore
  /** the source stores, opened on first use (--from, --source-env-file) */
  sources: ReturnType<typeof sourceOpener>
  /** the Celery broker, for the pre-flight's look at the dataset queues */
  broker: () => Promise<never>
  config: Runtime['config']
  /** close the stores (the Runtime closes the connections) */
  close(): Promise<void>
}

export async function vdbMigrateDeps(
  rt: Runtime,
  o: { dryRun: boolean; sourceEnvFile?: string },
): Promise<VdbMigrateDeps> {
  const db = await rt.db()
  const profile = await loadProfile(db, { difyRoot: rt.config.difyRoot })
  const redis = o.dryRun ? undefined : await rt.redis()
  const release = storeOptionsFor(profile)
  const target = await openStore(rt.config, undefined, redisKeyDeps(redis), release)
  const sources = sourceOpener(rt.config, o.sourceEnvFile, release)
  return {
    db,
    profile,
    redis,
    target,
    sources,
    broker: () => rt.broker() as never,
    config: rt.config,
    async close() {
      await sources.close()
      await target.store.close()
    },
  }
}

/** What the stores need of Redis (Dify's collection-exists keys are cleared when a collection is created). */
export function redisKeyDeps(
  redis: { client: unknown; keyPrefix: string } | undefined,
): { client: { del(...k: string[]): Promise<number> }; keyPrefix: string } | undefined {
  return redis
    ? { client: redis.client as never as { del(...k: string[]): Promise<number> }, keyPrefix: redis.keyPrefix }
    : undefined
}

/** The embedding cache port over src/dify/embedding-cache.ts (text → vector; undecodable rows count as misses). */
export function embeddingCachePort(db: Db): EmbeddingCachePort {
  return {
    async lookup(model, provider, texts) {
      const hits = await lookupEmbeddings(db, { model, provider }, texts)
      const out = new Map<string, number[]>()
      for (const t of texts) {
        const e = hits.get(difyTextHash(t))
        if (e && 'vector' in e) out.set(t, Array.from(e.vector))
      }
      return out
    },
  }
}
