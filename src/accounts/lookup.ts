/**
 * Finding accounts the way Dify does. `accounts.email` has no unique index, and how login matches an email
 * depends on the release (profile.emailLookup; dify-version-differences.md):
 * - ≤ 1.11.2: `email = ?` exactly;
 * - ≥ 1.11.3: `email = ?`, and when nothing matches and the input is not all lower-case, `email = lower(input)`
 *   (api/services/account_service.py get_account_by_email_with_case_fallback).
 * On MySQL the comparison follows the column collation (Dify's MySQL schema uses a case-insensitive one), exactly
 * as it does for Dify itself.
 */
import { pyStrip } from '../core/python-str.js'
import { sql } from 'kysely'
import type { Db } from '../core/db.js'
import type { DifyProfile } from '../dify/profile.js'
import { NotFoundError, UsageError } from '../core/errors.js'

export interface AccountRecord {
  id: string
  name: string
  email: string
  status: string
  hasPassword: boolean
  lastLoginAt: string | null
  lastLoginIp: string | null
  lastActiveAt: string | null
  initializedAt: string | null
  createdAt: string | null
  updatedAt: string | null
}

/** The short form used in lists and candidate lists. */
export interface AccountBrief {
  id: string
  email: string
  name: string
  status: string
}

export const brief = (a: AccountRecord): AccountBrief => ({ id: a.id, email: a.email, name: a.name, status: a.status })

export function iso(v: unknown): string | null {
  if (v === null || v === undefined) return null
  const d =
    v instanceof Date ? v : new Date(String(v).replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(String(v)) ? '' : 'Z'))
  return Number.isNaN(d.getTime()) ? null : d.toISOString()
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isUuid = (s: string) => UUID.test(s)

type Row = Record<string, unknown>

export function toRecord(r: Row): AccountRecord {
  return {
    id: String(r.id),
    name: String(r.name ?? ''),
    email: String(r.email),
    status: String(r.status),
    hasPassword: r.password !== null && r.password !== undefined && r.password !== '',
    lastLoginAt: iso(r.last_login_at),
    lastLoginIp: (r.last_login_ip as string | null) ?? null,
    lastActiveAt: iso(r.last_active_at),
    initializedAt: iso(r.initialized_at),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  }
}

const COLUMNS = [
  'id',
  'name',
  'email',
  'status',
  'password',
  'last_login_at',
  'last_login_ip',
  'last_active_at',
  'initialized_at',
  'created_at',
  'updated_at',
] as const

function base(db: Db) {
  return db.kysely.selectFrom('accounts').select([...COLUMNS])
}

/** Rows whose email equals `email` with the database's own comparison (what Dify's filter_by(email=…) does). */
export async function findExact(db: Db, email: string): Promise<AccountRecord[]> {
  const rows = await base(db).where('email', '=', email).orderBy('created_at').orderBy('id').execute()
  return rows.map((r) => toRecord(r as Row))
}

/** Every row whose email equals `email` ignoring case. */
export async function findCaseInsensitive(db: Db, email: string): Promise<AccountRecord[]> {
  const rows = await base(db)
    .where(sql`lower(email)`, '=', email.toLowerCase())
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  return rows.map((r) => toRecord(r as Row))
}

export async function findById(db: Db, id: string): Promise<AccountRecord | null> {
  if (!isUuid(id)) return null
  const row = await base(db).where('id', '=', id.toLowerCase()).executeTakeFirst()
  return row ? toRecord(row as Row) : null
}

export type MatchedBy = 'exact' | 'lowercase' | 'id'

export interface Resolved {
  account: AccountRecord
  matchedBy: MatchedBy
}

const listText = (rows: AccountRecord[]) => rows.map((r) => `${r.email} (id ${r.id}, ${r.status})`).join('; ')

/** Neither an email nor an account id: a usage error (exit 2), raised before anything connects. */
export function assertAccountQuery(q: { email?: string; accountId?: string }): void {
  if (!q.accountId && !pyStrip(q.email ?? ''))
    throw new UsageError('Missing --email (or --account-id).', { hint: 'Pass --email ADDRESS or --account-id ID.' })
}

/**
 * The one account an operation targets: by `accountId`, or by `email` as the connected release's login finds it.
 * Several exact matches → UsageError (exit 2) listing them, asking for --account-id. Nothing found but case
 * variants exist → NotFoundError (exit 3) listing them. Nothing at all → NotFoundError.
 */
export async function resolveAccount(
  db: Db,
  profile: DifyProfile,
  q: { email?: string; accountId?: string },
): Promise<Resolved> {
  if (q.accountId) {
    const a = await findById(db, q.accountId.trim())
    if (!a)
      throw new NotFoundError(`No account has the id ${q.accountId}.`, {
        hint: 'Find it with dify account list --search TEXT.',
      })
    if (q.email && a.email.toLowerCase() !== q.email.trim().toLowerCase()) {
      throw new UsageError(`Account ${a.id} has the email ${a.email}, not ${q.email.trim()}.`, {
        hint: 'Pass the matching --email, or only --account-id.',
      })
    }
    return { account: a, matchedBy: 'id' }
  }
  assertAccountQuery(q)
  const email = pyStrip(q.email ?? '')
  let matchedBy: MatchedBy = 'exact'
  let rows = await findExact(db, email)
  if (rows.length === 0 && profile.emailLookup === 'exact-then-lowercase' && email !== email.toLowerCase()) {
    rows = await findExact(db, email.toLowerCase())
    matchedBy = 'lowercase'
  }
  if (rows.length > 1) {
    throw new UsageError(
      `${rows.length} accounts have the email ${matchedBy === 'lowercase' ? email.toLowerCase() : email}: ${listText(rows)}.`,
      {
        hint: "Choose one with --account-id ID (Dify's own login fails for all of them while they share the address).",
        details: { candidates: rows.map(brief) },
      },
    )
  }
  if (rows.length === 1) return { account: rows[0]!, matchedBy }
  const variants = await findCaseInsensitive(db, email)
  if (variants.length) {
    const how =
      profile.emailLookup === 'exact' ? 'matches emails exactly' : 'matches the email exactly, then its lower-case form'
    throw new NotFoundError(
      `No account has the email ${email}, but ${variants.length === 1 ? 'one differs' : `${variants.length} differ`} only in letter case: ${listText(variants)}.`,
      {
        hint: `Dify ${profile.version ?? ''} login ${how}; pass the stored address as --email, or --account-id ID.`.replace(
          '  ',
          ' ',
        ),
        details: { candidates: variants.map(brief) },
      },
    )
  }
  throw new NotFoundError(`No account has the email ${email}.`, {
    hint: 'List accounts with dify account list --search TEXT.',
  })
}

export interface TenantMembership {
  tenantId: string
  tenantName: string
  tenantStatus: string
  role: string
  current: boolean
  joinedAt: string | null
}

export async function tenantsOf(db: Db, accountId: string): Promise<TenantMembership[]> {
  const rows = await db.kysely
    .selectFrom('tenant_account_joins as j')
    .innerJoin('tenants as t', 't.id', 'j.tenant_id')
    .select([
      't.id as tenant_id',
      't.name as tenant_name',
      't.status as tenant_status',
      'j.role',
      'j.current',
      'j.created_at',
    ])
    .where('j.account_id', '=', accountId)
    .orderBy('j.created_at')
    .execute()
  return rows.map((r) => ({
    tenantId: String(r.tenant_id),
    tenantName: String(r.tenant_name),
    tenantStatus: String(r.tenant_status),
    role: String(r.role),
    current: r.current === true || Number(r.current) === 1,
    joinedAt: iso(r.created_at),
  }))
}

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC: the naive-UTC form Dify stores (bound as text, so no driver time-zone shift). */
export function naiveUtc(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '')
}

/** What the status means for a password reset (null for active). */
export function statusNote(status: string): string | null {
  switch (status) {
    case 'active':
      return null
    case 'pending':
      return 'The account is pending (an invitation not yet accepted): the reset sets its password; Dify activates it at the first successful login.'
    case 'uninitialized':
      return 'The account is uninitialized: the reset sets its password but does not change its status.'
    case 'banned':
      return 'The account is banned: the reset changes the password but Dify keeps refusing the login until "dify account unban".'
    case 'closed':
      return 'The account is closed: the reset changes the password but does not reopen the account.'
    default:
      return `The account has the unknown status "${status}": the reset does not change it.`
  }
}
