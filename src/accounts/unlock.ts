/**
 * Clear every per-email lock-out of Dify for every case variant of an address: the five *_error_rate_limit counters
 * and the six RateLimiter sorted sets (reference §2). The password and the database are not touched.
 */
import { UsageError } from '../cli/errors.js'
import { LOCKOUT_COUNTERS, RATE_LIMITERS } from '../dify/keys.js'
import { deleteKeys, findEmailKeys, type EmailKeyState } from './redis-keys.js'
import type { OpenedRedis } from '../runtime/redis.js'

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
}

export async function unlockEmail(deps: { redis: () => Promise<OpenedRedis> }, input: UnlockInput): Promise<UnlockReport> {
  const email = input.email.trim()
  if (!email) throw new UsageError('Missing the email to unlock.', { hint: 'Pass EMAIL as the argument.' })
  const r = await deps.redis()
  const found = await findEmailKeys(r, email, [...LOCKOUT_COUNTERS, ...RATE_LIMITERS])
  if (!input.dryRun && found.length) await deleteKeys(r, found.map((f) => f.key))
  return {
    dryRun: Boolean(input.dryRun),
    email,
    cleared: found.map(({ key: _k, ...rest }) => rest),
    wasLocked: found.filter((f) => f.locked).map((f) => `${f.kind}:${f.email}`),
  }
}
