/** Wiring between the Runtime and the account domain (connections opened lazily, on first use). */
import type { Runtime } from '../runtime/index.js'
import type { DifyProfile } from '../dify/profile.js'
import type { OpenedRedis } from '../runtime/redis.js'
import type { AccountDeps } from './common.js'

export function accountDeps(rt: Runtime, opts: { warn?: (text: string) => void } = {}): AccountDeps {
  return { db: () => rt.db(), redis: () => rt.redis(), warn: opts.warn, difyRoot: rt.config.difyRoot }
}

/**
 * `account unlock` needs Redis only; the release (which key kinds exist, whether REDIS_KEY_PREFIX applies) comes
 * from the database when one is configured, else every kind is cleared.
 */
export function unlockDeps(
  rt: Runtime,
  opts: { warn?: (text: string) => void } = {},
): { redis: () => Promise<OpenedRedis>; profile?: () => Promise<DifyProfile | null>; warn?: (t: string) => void } {
  const profile = rt.config.db.embedded
    ? undefined
    : async () =>
        // loaded here: unlock's Redis-only path does not bring kysely and the Alembic chain otherwise
        (await import('../dify/schema-version.js')).loadProfile(await rt.db(), { difyRoot: rt.config.difyRoot })
  return { redis: () => rt.redis(), profile, warn: opts.warn }
}
