/** Wiring between the Runtime and the encryption domain: the database, storage (keys) and Redis (caches, locks). */
import type { Db } from '../core/db.js'
import type { Runtime } from '../runtime/index.js'
import type { OpenedRedis } from '../runtime/redis.js'
import type { Storage } from '../runtime/storage.js'

export interface EncryptionDeps {
  db: Db
  storage: Storage
  /** opened on first use: only writers delete caches and take tenant locks */
  redis: () => Promise<OpenedRedis>
}

/** The database and storage are opened together (both are needed before anything else happens). */
export async function encryptionDeps(rt: Runtime): Promise<EncryptionDeps> {
  const [db, storage] = await Promise.all([rt.db(), rt.storage()])
  return { db, storage, redis: () => rt.redis() }
}
