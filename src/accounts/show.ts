/** `dify account show`: one account with its workspaces, lock-outs and live sessions (read-only). */
import {
  findById,
  isUuid,
  resolveAccount,
  tenantsOf,
  type AccountRecord,
  type MatchedBy,
  type TenantMembership,
} from './lookup.js'
import { findEmailKeys, findSessions, type EmailKeyState } from './redis-keys.js'
import { NotFoundError } from '../core/errors.js'
import { listOauthSessions, type OauthSessions } from './oauth-tokens.js'
import { dbInfo, profileChecked, redisReason, releaseRedis, type AccountDeps, type DatabaseInfo } from './common.js'

export interface ShowReport {
  account: AccountRecord
  matchedBy: MatchedBy
  database: DatabaseInfo
  tenants: TenantMembership[]
  /** lock-out counters and rate limiters of every case variant of the email; null when Redis was unreachable */
  lockouts: Array<Omit<EmailKeyState, 'key'>> | null
  /** live refresh-token sessions; null when Redis was unreachable */
  sessions: { refreshTokens: number; accountKey: boolean } | null
  redis: { ok: boolean; error?: string }
  /** Dify 1.15.0+ device-flow sessions (oauth_access_tokens): live count, last use, the tokens; null before 1.15.0 */
  oauthSessions: OauthSessions | null
}

export async function showAccount(deps: AccountDeps, input: { idOrEmail: string }): Promise<ShowReport> {
  const db = await deps.db()
  const profile = await profileChecked(deps, db, { writes: false })
  const q = input.idOrEmail.trim()
  let account: AccountRecord
  let matchedBy: MatchedBy
  if (isUuid(q)) {
    const a = await findById(db, q)
    if (!a)
      throw new NotFoundError(`No account has the id ${q}.`, { hint: 'Find it with dify account list --search TEXT.' })
    account = a
    matchedBy = 'id'
  } else {
    ;({ account, matchedBy } = await resolveAccount(db, profile, { email: q }))
  }
  const report: ShowReport = {
    account,
    matchedBy,
    database: dbInfo(profile),
    tenants: await tenantsOf(db, account.id),
    lockouts: null,
    sessions: null,
    redis: { ok: true },
    oauthSessions: profile.oauthAccessTokens ? await listOauthSessions(db, account.id) : null,
  }
  try {
    const r = await releaseRedis(deps, profile)()
    // the kinds the connected release writes (every kind when the release is not known)
    const kinds =
      profile.supported || profile.newerThanKnown ? [...profile.lockoutCounters, ...profile.rateLimiters] : undefined
    report.lockouts = (await findEmailKeys(r, account.email, kinds)).map(({ key: _k, ...rest }) => rest)
    const s = (await findSessions(r, [account.id])).get(account.id)!
    report.sessions = { refreshTokens: s.refreshKeys.length, accountKey: s.accountKey !== null }
  } catch (e) {
    report.redis = { ok: false, error: redisReason(e) }
    deps.warn?.(`Redis is unavailable (${redisReason(e)}): lock-outs and sessions are not shown.`)
  }
  return report
}
