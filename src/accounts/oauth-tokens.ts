/**
 * Dify 1.15.0 device-flow sessions: `oauth_access_tokens` (api/models/oauth.py). Dify revokes one by setting
 * `revoked_at` to the current UTC time and `token_hash` to NULL where `revoked_at IS NULL`, then deletes the 60 s
 * resolver cache `auth:token:<token_hash>` (api/services/oauth_device_flow.py revoke_oauth_token,
 * api/libs/oauth_bearer.py). A token is live while revoked_at IS NULL, token_hash IS NOT NULL and expires_at is
 * in the future (list_active_sessions). Used only when profile.oauthAccessTokens.
 */
import type { Db } from '../core/db.js'
import { iso, naiveUtc } from './lookup.js'

export interface OauthTokenBrief {
  id: string
  clientId: string
  deviceLabel: string
  createdAt: string | null
  lastUsedAt: string | null
  expiresAt: string | null
}

export interface OauthSessions {
  /** live tokens (not revoked, not expired) */
  live: number
  /** the latest last_used_at over the account's live tokens */
  lastUsedAt: string | null
  tokens: OauthTokenBrief[]
}

type Row = Record<string, unknown>

/** The account's live device-flow tokens, newest first. */
export async function listOauthSessions(db: Db, accountId: string, now = new Date()): Promise<OauthSessions> {
  const rows = (await db.kysely
    .selectFrom('oauth_access_tokens' as never)
    .select(['id', 'client_id', 'device_label', 'created_at', 'last_used_at', 'expires_at'] as never[])
    .where('account_id' as never, '=', accountId as never)
    .where('revoked_at' as never, 'is', null as never)
    .where('token_hash' as never, 'is not', null as never)
    .orderBy('created_at' as never, 'desc')
    .execute()) as Row[]
  const tokens = rows
    .map((r) => ({
      id: String(r.id),
      clientId: String(r.client_id),
      deviceLabel: String(r.device_label),
      createdAt: iso(r.created_at),
      lastUsedAt: iso(r.last_used_at),
      expiresAt: iso(r.expires_at),
    }))
    .filter((t) => t.expiresAt === null || new Date(t.expiresAt).getTime() > now.getTime())
  const used = tokens
    .map((t) => t.lastUsedAt)
    .filter((v): v is string => v !== null)
    .sort()
  return { live: tokens.length, lastUsedAt: used.at(-1) ?? null, tokens }
}

export interface OauthRevocation {
  /** tokens whose revoked_at was set (or would be, in a dry run) */
  revoked: number
  /** token hashes whose resolver cache must be deleted (never printed: they identify live tokens) */
  hashes: string[]
}

/** Revoke every not-yet-revoked token of the account as Dify does (dry run: count them). */
export async function revokeOauthTokens(
  db: Db,
  accountId: string,
  opts: { dryRun: boolean; now?: Date },
): Promise<OauthRevocation> {
  const rows = (await db.kysely
    .selectFrom('oauth_access_tokens' as never)
    .select(['id', 'token_hash'] as never[])
    .where('account_id' as never, '=', accountId as never)
    .where('revoked_at' as never, 'is', null as never)
    .execute()) as Row[]
  const hashes = rows.map((r) => r.token_hash).filter((h): h is string => typeof h === 'string' && h !== '')
  if (opts.dryRun || rows.length === 0) return { revoked: rows.length, hashes }
  const now = opts.now ?? new Date()
  // timestamptz on PostgreSQL (an absolute instant), naive UTC DATETIME on MySQL, as Dify's datetime.now(UTC) lands
  const at = db.dialect === 'mysql' ? naiveUtc(now) : now.toISOString()
  const res = await db.kysely
    .updateTable('oauth_access_tokens' as never)
    .set({ revoked_at: at, token_hash: null } as never)
    .where('account_id' as never, '=', accountId as never)
    .where('revoked_at' as never, 'is', null as never)
    .executeTakeFirst()
  return { revoked: Number(res.numUpdatedRows), hashes }
}
