/** Wiring between the Runtime and the documents domain: database, broker, Dify's Redis and the release's facts. */
import type { Redis } from 'ioredis'
import type { Runtime } from '../runtime/index.js'
import { brokerOf } from '../queues/deps.js'
import { loadProfile } from '../dify/schema-version.js'
import { ConfigError } from '../core/errors.js'
import type { StuckDeps } from './stuck.js'

export async function documentsDeps(rt: Runtime): Promise<StuckDeps> {
  const db = await rt.db()
  const profile = await loadProfile(db)
  if (!profile.revision) {
    throw new ConfigError('The metadata database holds no Dify schema (no alembic_version).', {
      hint: 'Point DB_* at the database Dify uses.',
    })
  }
  const broker = await brokerOf(rt)
  const redis = await rt.redis()
  return {
    db,
    broker,
    redis: redis.client as Redis,
    redisPrefix: redis.keyPrefix,
    facts: profile.indexing,
    version: profile.version,
    storage: () => rt.storage(),
  }
}
