import type { Db } from '../core/db.js'
import type { OpenedRedis } from '../runtime/redis.js'
import type { DifyProfile } from '../dify/profile.js'
import { checkRelease, loadProfile } from '../dify/schema-version.js'
import { manifestFor, type ManifestOperation } from '../dify/manifest.js'
import { findSessions, revokeSessions } from './redis-keys.js'
import { keys } from '../dify/keys.js'

/** What every account operation gets. Connections are opened lazily by the caller's runtime. */
export interface AccountDeps {
  db: () => Promise<Db>
  redis: () => Promise<OpenedRedis>
  /** warnings for the operator (stderr); never secrets */
  warn?: (text: string) => void
  /** --dify-root / DIFY_OPS_DIFY_ROOT: the Dify code telling a revision newer than this CLI knows */
  difyRoot?: string
}

export interface DatabaseInfo {
  revision: string | null
  difyVersion: string | null
  supported: boolean
  /** supported | newer | older | unknown | no-schema (DifyProfile.status) */
  status: DifyProfile['status']
}

export const dbInfo = (p: DifyProfile): DatabaseInfo => ({
  revision: p.revision,
  difyVersion: p.version,
  supported: p.supported,
  status: p.status,
})

/**
 * Load the profile and apply the release rules (checkRelease): writes refuse outside the window unless forced
 * (exit 4); on a database newer than the CLI knows, a write runs when its manifest (`operation`) is verified;
 * reads only warn.
 */
export async function profileChecked(
  deps: AccountDeps,
  db: Db,
  opts: { writes: boolean; force?: boolean; operation?: ManifestOperation },
): Promise<DifyProfile> {
  const profile = await loadProfile(db, { difyRoot: deps.difyRoot })
  const manifest = opts.operation ? manifestFor(opts.operation, profile) : undefined
  const w = await checkRelease(db, profile, { ...opts, manifest })
  if (w) deps.warn?.(w)
  return profile
}

/**
 * The Redis connection for the connected release. REDIS_KEY_PREFIX exists from Dify 1.14.0
 * (api/configs/middleware/cache/redis_config.py); an older Dify ignores it and writes its keys without a prefix.
 * dify-ops keeps using the configured prefix (it may be an isolation prefix of dify-ops' own) but says so.
 */
export function releaseRedis(deps: AccountDeps, profile: DifyProfile): () => Promise<OpenedRedis> {
  return async () => {
    const r = await deps.redis()
    if (r.keyPrefix && !profile.redisKeyPrefixSupported && (profile.supported || profile.status === 'older')) {
      deps.warn?.(
        `REDIS_KEY_PREFIX is set, but Dify ${profile.version ?? 'at this revision'} has no such setting (it exists from 1.14.0) and writes its keys without a prefix; unset REDIS_KEY_PREFIX to reach them.`,
      )
    }
    return r
  }
}

/** The step deleting the resolver caches of revoked OAuth tokens (`auth:token:<hash>`, 60 s). */
export function oauthCacheStep(hashes: () => string[]): RedisStep {
  return [
    'delete the cached OAuth token lookups',
    async (r) => {
      for (const h of hashes()) await r.client.del(keys.oauthTokenCache(h, r.keyPrefix))
    },
  ]
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
export async function runRedisSteps(
  deps: { redis: () => Promise<OpenedRedis> },
  outcome: RedisOutcome,
  steps: RedisStep[],
): Promise<void> {
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
export function sessionsStep(
  accountId: string,
  dryRun: boolean,
  into: { refreshTokens: number; accountKey: boolean },
): RedisStep {
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
