import type { Db } from '../runtime/db.js'
import type { OpenedRedis } from '../runtime/redis.js'
import type { DifyProfile } from '../dify/profile.js'
import { checkSupported, loadProfile } from '../dify/schema-version.js'
import { findSessions, revokeSessions } from './redis-keys.js'

/** What every account operation gets. Connections are opened lazily by the caller's runtime. */
export interface AccountDeps {
  db: () => Promise<Db>
  redis: () => Promise<OpenedRedis>
  /** warnings for the operator (stderr); never secrets */
  warn?: (text: string) => void
}

export interface DatabaseInfo {
  revision: string | null
  difyVersion: string | null
  supported: boolean
}

export const dbInfo = (p: DifyProfile): DatabaseInfo => ({ revision: p.revision, difyVersion: p.version, supported: p.supported })

/** Load the profile; writes refuse outside the window unless forced (exit 4), reads only warn. */
export async function profileChecked(deps: AccountDeps, db: Db, opts: { writes: boolean; force?: boolean }): Promise<DifyProfile> {
  const profile = await loadProfile(db)
  const w = checkSupported(profile, opts)
  if (w) deps.warn?.(opts.writes ? `${w} Going on because of --force-version.` : w)
  return profile
}

/** The short reason of a Redis failure, without the key names or values. */
export function redisReason(e: unknown): string {
  const msg = (e as Error)?.message ?? String(e)
  return msg.split('\n')[0]!
}

export interface RedisOutcome {
  /** Redis could be used for every step */
  ok: boolean
  /** why not (connection or command error), when !ok */
  error?: string
  /** what could not be done, in words */
  notDone: string[]
}

export type RedisStep = [what: string, run: (r: OpenedRedis) => Promise<void>]

/** Run Redis steps in order, each on its own: a failing step is reported as not done; no connection → none done. */
export async function runRedisSteps(deps: { redis: () => Promise<OpenedRedis> }, outcome: RedisOutcome, steps: RedisStep[]): Promise<void> {
  let r: OpenedRedis
  try {
    r = await deps.redis()
  } catch (e) {
    outcome.ok = false
    outcome.error = redisReason(e)
    outcome.notDone.push(...steps.map(([what]) => what))
    return
  }
  for (let i = 0; i < steps.length; i++) {
    const [what, run] = steps[i]!
    try {
      await run(r)
    } catch (e) {
      outcome.ok = false
      outcome.error ??= redisReason(e)
      outcome.notDone.push(what)
    }
  }
}

/** The step revoking one account's sessions (or, in a dry run, counting them) into `into`. */
export function sessionsStep(accountId: string, dryRun: boolean, into: { refreshTokens: number; accountKey: boolean }): RedisStep {
  return [
    'revoke the sessions (refresh tokens)',
    async (r) => {
      if (dryRun) {
        const s = (await findSessions(r, [accountId])).get(accountId)!
        into.refreshTokens = s.refreshKeys.length
        into.accountKey = s.accountKey !== null
      } else {
        const res = await revokeSessions(r, accountId)
        into.refreshTokens = res.refreshTokensDeleted
        into.accountKey = res.accountKeyDeleted
      }
    },
  ]
}
