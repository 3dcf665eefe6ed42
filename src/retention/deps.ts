/** Wiring between the Runtime and the retention domain (one wiring file per domain: docs/architecture.md). */
import type { Db } from '../core/db.js'
import type { DifyProfile } from '../dify/profile.js'
import { loadProfile } from '../dify/schema-version.js'
import type { Runtime } from '../runtime/index.js'
import type { Storage } from '../runtime/storage.js'
import { preloadRedisDriver } from '../runtime/redis.js'

export interface RetentionDeps {
  db: Db
  profile: DifyProfile
  /** opened only when asked (`clean --files quarantine`) */
  storage: () => Promise<Storage>
  /**
   * Called once while a long block runs on the server and the process would idle: the command loads then what it
   * needs only at exit (the Redis driver of the audit line, ~60 ms of CPU) instead of after the last batch.
   */
  whileServerWorks?: () => void
}

/** The database and the connected release's facts (the dependency map is decided from them). */
export async function retentionDeps(rt: Runtime): Promise<RetentionDeps> {
  const db = await rt.db()
  return {
    db,
    profile: await loadProfile(db, { difyRoot: rt.config.difyRoot }),
    storage: () => rt.storage(),
    whileServerWorks: () => preloadRedisDriver(rt.config.redis),
  }
}
