/** Wiring between the Runtime and the storage domain (one wiring file per domain: docs/architecture.md). */
import type { Db } from '../core/db.js'
import type { DifyProfile } from '../dify/profile.js'
import { loadProfile } from '../dify/schema-version.js'
import type { Runtime } from '../runtime/index.js'
import type { Storage } from '../runtime/storage.js'

export interface StorageDeps {
  storage: Storage
}
export interface StorageRefDeps extends StorageDeps {
  db: Db
  profile: DifyProfile
}

/** The configured storage alone: usage, restore, purge and the source of migrate. */
export async function storageDeps(rt: Runtime): Promise<StorageDeps> {
  return { storage: await rt.storage() }
}

/** The database and the release's facts (the reference set), then the storage: orphans and quarantine. */
export async function storageRefDeps(rt: Runtime): Promise<StorageRefDeps> {
  const db = await rt.db()
  const profile = await loadProfile(db, { difyRoot: rt.config.difyRoot })
  return { db, profile, storage: await rt.storage() }
}
