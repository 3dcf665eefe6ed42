/**
 * Clear every per-email lock-out of Dify for every case variant of an address: the five *_error_rate_limit counters
 * and the six RateLimiter sorted sets (reference §2). The password and the database are not touched.
 */
import { UsageError } from '../core/errors.js'
import { LOCKOUT_COUNTERS, RATE_LIMITERS } from '../dify/keys.js'
import { deleteKeys, findEmailKeys, type EmailKeyState } from './redis-keys.js'
import type { OpenedRedis } from '../runtime/redis.js'
import type { DifyProfile } from '../dify/profile.js'
import { SUPPORTED_WINDOW } from '../dify/window.js'

export interface UnlockInput {
  email: string
  dryRun?: boolean
}

export interface UnlockReport {
  dryRun: boolean
  email: string
  /** the keys deleted (or to delete): kind, the stored email form, count, TTL */
  cleared: Array<Omit<EmailKeyState, 'key'>>
  /** lock-out counters among them that had locked the address (count > 5) */
  wasLocked: string[]
  /** the Dify release whose key kinds were cleared; null when no database told it (every kind of 1.0 – 1.15 then) */
  difyVersion: string | null
}

/**
 * `profile`: the connected release's profile when a database tells it (its key kinds and key prefix are used),
 * else null (every kind any release 1.0.0 – 1.15.0 writes, with the configured prefix).
 */
export async function unlockEmail(
  deps: { redis: () => Promise<OpenedRedis>; profile?: () => Promise<DifyProfile | null>; warn?: (t: string) => void },
  input: UnlockInput,
): Promise<UnlockReport> {
  const email = input.email.trim()
  if (!email) throw new UsageError('Missing the email to unlock.', { hint: 'Pass EMAIL as the argument.' })
  const profile = (await deps.profile?.().catch(() => null)) ?? null
  const known = profile && (profile.supported || profile.newerThanKnown) ? profile : null
  const r = await deps.redis()
  if (known && r.keyPrefix && !known.redisKeyPrefixSupported) {
    deps.warn?.(
      `REDIS_KEY_PREFIX is set, but Dify ${known.version} has no such setting (it exists from 1.14.0) and writes its keys without a prefix; unset REDIS_KEY_PREFIX to reach them.`,
    )
  }
  const kinds = known ? [...known.lockoutCounters, ...known.rateLimiters] : [...LOCKOUT_COUNTERS, ...RATE_LIMITERS]
  const found = await findEmailKeys(r, email, kinds)
  if (!input.dryRun && found.length)
    await deleteKeys(
      r,
      found.map((f) => f.key),
    )
  return {
    dryRun: Boolean(input.dryRun),
    email,
    cleared: found.map(({ key: _k, ...rest }) => rest),
    wasLocked: found.filter((f) => f.locked).map((f) => `${f.kind}:${f.email}`),
    difyVersion: known ? (known.version ?? `newer than ${SUPPORTED_WINDOW.to}`) : null,
  }
}
