/**
 * Change an account's email as `flask reset-email` does (api/commands.py reset_email): same validation
 * (api/libs/helper.py `email`), same stored form (as typed and stripped up to 1.11.2, lower-cased from 1.11.3), but
 * refusing an address another account already uses, and moving the login lock-out counter to the new address.
 */
import { UsageError } from '../core/errors.js'
import { pyStrip } from '../core/python-str.js'
import { keys } from '../dify/keys.js'
import {
  assertAccountQuery,
  brief,
  findCaseInsensitive,
  naiveUtc,
  resolveAccount,
  type AccountBrief,
  type MatchedBy,
} from './lookup.js'
import { deleteKeys, findEmailKeys } from './redis-keys.js'
import {
  dbInfo,
  profileChecked,
  releaseRedis,
  runRedisSteps,
  type AccountDeps,
  type DatabaseInfo,
  type RedisOutcome,
} from './common.js'

/**
 * Dify's address check, `^[\w.!#$%&'*+\-/=?^_`{|}~]+@([\w-]+\.)+[\w-]{2,}$` under Python `re.match`, where `\w` is
 * Unicode-aware (letters, numbers, underscore) and `$` also accepts one final newline.
 */
const W = '\\p{L}\\p{N}_'
const LOCAL = W + ".!#$%&'*+\\-/=?^_`{|}~"
const DIFY_EMAIL = new RegExp('^[' + LOCAL + ']+@(?:[' + W + '\\-]+\\.)+[' + W + '\\-]{2,}\\n?$', 'u')

export function isDifyValidEmail(email: string): boolean {
  return DIFY_EMAIL.test(email)
}

export interface ResetEmailInput {
  email?: string
  accountId?: string
  newEmail: string
  emailConfirm?: string
  dryRun?: boolean
  forceVersion?: boolean
  now?: Date
}

export interface ResetEmailReport {
  dryRun: boolean
  account: AccountBrief
  matchedBy: MatchedBy
  database: DatabaseInfo
  oldEmail: string
  /** the address stored (the form depends on the release) */
  newEmail: string
  changed: boolean
  updatedAt: string | null
  /** login lock-out counter moved from the old address (any case variant) to the new one */
  lockoutMoved: { from: string[]; to: string; count: number; ttlSeconds: number | null } | null
  redis: RedisOutcome
}

const OPERATION = 'reset-email' as const

export async function resetEmail(deps: AccountDeps, input: ResetEmailInput): Promise<ResetEmailReport> {
  // flask reset-email compares and stores `new_email.strip()` (Python's whitespace set, not JavaScript's)
  const typedNew = pyStrip(input.newEmail)
  if (!typedNew) throw new UsageError('Missing the new email.', { hint: 'Pass --new-email ADDRESS.' })
  if (input.emailConfirm !== undefined && pyStrip(input.emailConfirm) !== typedNew) {
    throw new UsageError('The new email and its confirmation differ.', {
      hint: 'Pass the same address to --new-email and --email-confirm.',
    })
  }
  assertAccountQuery(input)
  const db = await deps.db()
  const profile = await profileChecked(deps, db, { writes: true, force: input.forceVersion, operation: OPERATION })
  const newEmail = profile.resetEmailStoredForm === 'stripped-lowercase' ? typedNew.toLowerCase() : typedNew
  if (!isDifyValidEmail(newEmail)) {
    throw new UsageError(`"${newEmail}" is not an email address Dify accepts.`, {
      hint: 'Use the form name@example.com (letters, digits and . _ - + in the name).',
    })
  }
  const { account, matchedBy } = await resolveAccount(db, profile, { email: input.email, accountId: input.accountId })
  const others = (await findCaseInsensitive(db, newEmail)).filter((a) => a.id !== account.id)
  if (others.length) {
    throw new UsageError(
      `Another account already uses ${newEmail}${others.some((o) => o.email !== newEmail) ? ' (in another letter case)' : ''}: ${others.map((o) => `${o.email} (id ${o.id})`).join('; ')}.`,
      {
        hint: 'Choose another address, or change or close the other account first.',
        details: { conflicts: others.map(brief) },
      },
    )
  }
  const dryRun = Boolean(input.dryRun)
  const changed = account.email !== newEmail
  let updatedAt: string | null = null
  if (!dryRun && changed) {
    const now = input.now ?? new Date()
    await db.kysely
      .updateTable('accounts')
      .set({ email: newEmail, updated_at: naiveUtc(now) as unknown as Date })
      .where('id', '=', account.id)
      .execute()
    updatedAt = now.toISOString()
  }
  const report: ResetEmailReport = {
    dryRun,
    account: brief(account),
    matchedBy,
    database: dbInfo(profile),
    oldEmail: account.email,
    newEmail,
    changed,
    updatedAt,
    lockoutMoved: null,
    redis: { ok: true, notDone: [] },
  }
  if (!changed) return report
  // the login counter follows the address, so an account under attack stays locked after the change
  const loginForm = profile.loginRateLimitEmail === 'lowercase' ? newEmail.toLowerCase() : newEmail
  await runRedisSteps({ redis: releaseRedis(deps, profile) }, report.redis, [
    [
      'move the login lock-out counter to the new address',
      async (r) => {
        const old = await findEmailKeys(r, account.email, ['login_error_rate_limit'])
        if (!old.length) return
        const top = old.reduce((a, b) => (b.count > a.count ? b : a))
        report.lockoutMoved = {
          from: old.map((o) => o.email),
          to: loginForm,
          count: top.count,
          ttlSeconds: top.ttlSeconds,
        }
        if (dryRun) return
        const target = keys.loginErrorRateLimit(loginForm, r.keyPrefix)
        const existing = Number((await r.client.get(target)) ?? 0)
        const count = Math.max(existing, top.count)
        if (top.ttlSeconds !== null) await r.client.set(target, String(count), 'EX', Math.max(1, top.ttlSeconds))
        else await r.client.set(target, String(count))
        const stale = old.map((o) => o.key).filter((k) => k !== target)
        if (stale.length) await deleteKeys(r, stale)
      },
    ],
  ])
  return report
}
