/**
 * Ban or unban an account: `accounts.status` = 'banned' (Dify's load_user then refuses even live access tokens and
 * login refuses the account) or back to 'active'. A ban also revokes the refresh-token sessions.
 */
import { assertAccountQuery, naiveUtc, brief, resolveAccount, type AccountBrief, type MatchedBy } from './lookup.js'
import { revokeOauthTokens, type OauthRevocation } from './oauth-tokens.js'
import {
  dbInfo,
  oauthCacheStep,
  profileChecked,
  releaseRedis,
  runRedisSteps,
  sessionsStep,
  type AccountDeps,
  type DatabaseInfo,
  type RedisOutcome,
} from './common.js'

const OPERATION = 'account-ban' as const

export interface BanInput {
  email?: string
  accountId?: string
  action: 'ban' | 'unban'
  dryRun?: boolean
  forceVersion?: boolean
  keepSessions?: boolean
  now?: Date
}

export interface BanReport {
  dryRun: boolean
  action: 'ban' | 'unban'
  account: AccountBrief
  matchedBy: MatchedBy
  database: DatabaseInfo
  previousStatus: string
  status: string
  changed: boolean
  /** why nothing changed, when nothing did */
  note: string | null
  updatedAt: string | null
  /** oauthTokens: Dify 1.15.0+ device-flow tokens revoked (or to revoke), null before 1.15.0 */
  sessions: { revoke: boolean; refreshTokens: number; accountKey: boolean; oauthTokens: number | null }
  redis: RedisOutcome
}

export async function setBanned(deps: AccountDeps, input: BanInput): Promise<BanReport> {
  assertAccountQuery(input)
  const db = await deps.db()
  const profile = await profileChecked(deps, db, { writes: true, force: input.forceVersion, operation: OPERATION })
  const { account, matchedBy } = await resolveAccount(db, profile, { email: input.email, accountId: input.accountId })
  const dryRun = Boolean(input.dryRun)
  const ban = input.action === 'ban'
  let target = account.status
  let note: string | null = null
  if (ban) {
    if (account.status === 'banned') note = 'The account is already banned.'
    else target = 'banned'
  } else if (account.status !== 'banned') {
    note = `The account is not banned (status ${account.status}); unban changes only banned accounts.`
  } else target = 'active'
  const changed = target !== account.status
  let updatedAt: string | null = null
  const revoke = ban && !input.keepSessions
  // the status and (Dify 1.15.0+) the device-flow sessions change in one transaction
  const revokeOauth = revoke && profile.oauthAccessTokens
  let oauth: OauthRevocation | null = null
  if (!dryRun && (changed || revokeOauth)) {
    const now = input.now ?? new Date()
    oauth = await db.kysely.transaction().execute(async (trx) => {
      if (changed) {
        await trx
          .updateTable('accounts')
          .set({ status: target, updated_at: naiveUtc(now) as unknown as Date })
          .where('id', '=', account.id)
          .execute()
      }
      return revokeOauth ? revokeOauthTokens({ ...db, kysely: trx }, account.id, { dryRun, now }) : null
    })
    if (changed) updatedAt = now.toISOString()
  } else if (revokeOauth) {
    oauth = await revokeOauthTokens(db, account.id, { dryRun })
  }
  const report: BanReport = {
    dryRun,
    action: input.action,
    account: brief(account),
    matchedBy,
    database: dbInfo(profile),
    previousStatus: account.status,
    status: target,
    changed,
    note,
    updatedAt,
    sessions: { revoke, refreshTokens: 0, accountKey: false, oauthTokens: oauth ? oauth.revoked : null },
    redis: { ok: true, notDone: [] },
  }
  if (revoke) {
    const steps = [sessionsStep(account.id, dryRun, report.sessions)]
    if (oauth?.hashes.length && !dryRun) steps.push(oauthCacheStep(() => oauth.hashes))
    await runRedisSteps({ redis: releaseRedis(deps, profile) }, report.redis, steps)
  }
  return report
}
