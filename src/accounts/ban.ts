/**
 * Ban or unban an account: `accounts.status` = 'banned' (Dify's load_user then refuses even live access tokens and
 * login refuses the account) or back to 'active'. A ban also revokes the refresh-token sessions.
 */
import { assertAccountQuery, naiveUtc, brief, resolveAccount, type AccountBrief, type MatchedBy } from './lookup.js'
import { dbInfo, profileChecked, runRedisSteps, sessionsStep, type AccountDeps, type DatabaseInfo, type RedisOutcome } from './common.js'

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
  sessions: { revoke: boolean; refreshTokens: number; accountKey: boolean }
  redis: RedisOutcome
}

export async function setBanned(deps: AccountDeps, input: BanInput): Promise<BanReport> {
  assertAccountQuery(input)
  const db = await deps.db()
  const profile = await profileChecked(deps, db, { writes: true, force: input.forceVersion })
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
  if (changed && !dryRun) {
    const now = input.now ?? new Date()
    await db.kysely
      .updateTable('accounts')
      .set({ status: target, updated_at: naiveUtc(now) as unknown as Date })
      .where('id', '=', account.id)
      .execute()
    updatedAt = now.toISOString()
  }
  const revoke = ban && !input.keepSessions
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
    sessions: { revoke, refreshTokens: 0, accountKey: false },
    redis: { ok: true, notDone: [] },
  }
  if (revoke) await runRedisSteps(deps, report.redis, [sessionsStep(account.id, dryRun, report.sessions)])
  return report
}
