/**
 * Reset an account's password the way Dify's `flask reset-password` does (api/commands.py reset_password), plus
 * what that command leaves out: lock-out counters of every case variant, session revocation, a truthful report.
 */
import { pyStrip } from '../core/python-str.js'
import { UsageError } from '../core/errors.js'
import { hashPassword, policyProblem, policyProblemText, PASSWORD_RULE_TEXT } from './password.js'
import { brief, naiveUtc, resolveAccount, statusNote, type AccountBrief, type MatchedBy } from './lookup.js'
import { deleteKeys, findEmailKeys } from './redis-keys.js'
import { revokeOauthTokens, type OauthRevocation } from './oauth-tokens.js'
import {
  dbInfo,
  oauthCacheStep,
  profileChecked,
  releaseRedis,
  runRedisSteps,
  sessionsStep,
  type RedisStep,
  type AccountDeps,
  type DatabaseInfo,
  type RedisOutcome,
} from './common.js'

const OPERATION = 'reset-password' as const

export interface ResetPasswordInput {
  email?: string
  accountId?: string
  /**
   * the new password (never returned, never logged), or a function giving it: called once the account is found,
   * so an operator is not asked for a password for an account that does not exist
   */
  password: string | (() => Promise<string>)
  keepSessions?: boolean
  dryRun?: boolean
  forceVersion?: boolean
  /**
   * called inside the transaction once the row is updated, before COMMIT: the caller shows a generated password
   * here, so a password nobody has seen is never committed (an interrupt or a failure before COMMIT rolls back)
   */
  beforeCommit?: () => void | Promise<void>
  afterCommit?: () => void
  /** ACCESS_TOKEN_EXPIRE_MINUTES, for the report */
  accessTokenExpireMinutes: number
  now?: Date
}

export interface ResetPasswordReport {
  dryRun: boolean
  account: AccountBrief
  matchedBy: MatchedBy
  database: DatabaseInfo
  /** the password columns were (or, in a dry run, would be) rewritten */
  passwordChanged: boolean
  /** the new accounts.updated_at (ISO-8601 UTC); null in a dry run */
  updatedAt: string | null
  /** what the status means for this reset, null for active accounts */
  statusNote: string | null
  lockout: {
    /** login_error_rate_limit keys (emails only) deleted, or to delete in a dry run */
    cleared: Array<{ email: string; count: number }>
    /** the email forms checked (as typed, lower-cased, every stored case variant) */
    checked: string[]
  }
  sessions: {
    /** false with --keep-sessions */
    revoke: boolean
    /** refresh_token:* keys deleted (or found, in a dry run) */
    refreshTokens: number
    /** account_refresh_token:<id> deleted (or present, in a dry run) */
    accountKey: boolean
    /**
     * Dify 1.15.0+ device-flow tokens (oauth_access_tokens) revoked (revoked_at set), or to revoke in a dry run;
     * null before 1.15.0 (no such table)
     */
    oauthTokens: number | null
  }
  redis: RedisOutcome
  accessTokens: { validForMinutes: number; note: string }
}

/** Validate a new password against Dify's rule: exit 2 with the rule in words. */
export function assertPasswordPolicy(password: string): void {
  const p = policyProblem(password)
  if (p)
    throw new UsageError(`The new password is refused: ${policyProblemText(p)}.`, {
      hint: `Dify requires ${PASSWORD_RULE_TEXT}.`,
    })
}

export async function resetPassword(deps: AccountDeps, input: ResetPasswordInput): Promise<ResetPasswordReport> {
  if (typeof input.password === 'string') assertPasswordPolicy(input.password)
  // connect to Redis while the database work runs (its failure is handled by runRedisSteps below)
  const early = deps.redis()
  early.catch(() => {})
  const db = await deps.db()
  const profile = await profileChecked(deps, db, { writes: true, force: input.forceVersion, operation: OPERATION })
  const { account, matchedBy } = await resolveAccount(db, profile, { email: input.email, accountId: input.accountId })
  const password = typeof input.password === 'string' ? input.password : await input.password()
  assertPasswordPolicy(password)
  const dryRun = Boolean(input.dryRun)
  const revoke = !input.keepSessions

  let updatedAt: string | null = null
  // the password and (Dify 1.15.0+) the device-flow sessions change in one transaction: both or neither
  const revokeOauth = revoke && profile.oauthAccessTokens
  let oauth: OauthRevocation | null = null
  if (!dryRun) {
    const now = input.now ?? new Date()
    const stored = hashPassword(password)
    // one transaction: the UPDATE waits at most --lock-timeout for the row (exit 6 naming the table), and nothing
    // is committed before the caller has shown a generated password
    oauth = await db.kysely.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('accounts')
        .set({
          password: stored.password,
          password_salt: stored.passwordSalt,
          updated_at: naiveUtc(now) as unknown as Date,
        })
        .where('id', '=', account.id)
        .executeTakeFirst()
      if (Number(res.numUpdatedRows) !== 1) throw new Error(`the account ${account.id} disappeared during the update`)
      const revoked = revokeOauth ? await revokeOauthTokens({ ...db, kysely: trx }, account.id, { dryRun, now }) : null
      await input.beforeCommit?.()
      return revoked
    })
    input.afterCommit?.()
    updatedAt = now.toISOString()
  } else if (revokeOauth) {
    oauth = await revokeOauthTokens(db, account.id, { dryRun })
  }

  // lock-out: the email as typed, its stripped lower-case form (Dify ≥ 1.11.3), the stored address, and every
  // case variant that has a key (found by a case-insensitive SCAN)
  const typed = input.email ?? account.email
  const checked = [...new Set([typed, pyStrip(typed).toLowerCase(), account.email])]
  const report: ResetPasswordReport = {
    dryRun,
    account: brief(account),
    matchedBy,
    database: dbInfo(profile),
    passwordChanged: true,
    updatedAt,
    statusNote: statusNote(account.status),
    lockout: { cleared: [], checked },
    sessions: { revoke, refreshTokens: 0, accountKey: false, oauthTokens: oauth ? oauth.revoked : null },
    redis: { ok: true, notDone: [] },
    accessTokens: {
      validForMinutes: input.accessTokenExpireMinutes,
      note: `Access tokens already issued stay valid until they expire (ACCESS_TOKEN_EXPIRE_MINUTES=${input.accessTokenExpireMinutes}); "dify account ban" cuts them off at once.`,
    },
  }

  const steps: RedisStep[] = [
    [
      'clear the login lock-out counter',
      async (r) => {
        const seen = new Map<string, { email: string; count: number }>()
        // one SCAN per distinct lower-case form (each SCAN already finds every case variant)
        for (const form of new Set(checked.map((c) => c.toLowerCase()))) {
          for (const k of await findEmailKeys(r, form, ['login_error_rate_limit']))
            seen.set(k.key, { email: k.email, count: k.count })
        }
        if (!dryRun && seen.size) await deleteKeys(r, [...seen.keys()])
        report.lockout.cleared = [...seen.values()]
      },
    ],
  ]
  if (revoke) steps.push(sessionsStep(account.id, dryRun, report.sessions))
  if (oauth?.hashes.length && !dryRun) steps.push(oauthCacheStep(() => oauth.hashes))
  await runRedisSteps({ redis: releaseRedis(deps, profile) }, report.redis, steps)
  return report
}
