/** `dify account list`: accounts page by page, with a case-insensitive search (read-only). */
import { sql } from 'kysely'
import { UsageError } from '../core/errors.js'
import { iso, isUuid } from './lookup.js'
import { dbInfo, profileChecked, type AccountDeps, type DatabaseInfo } from './common.js'

export interface ListInput {
  search?: string
  tenantId?: string
  status?: string
  limit: number
  offset: number
}

export interface ListedAccount {
  id: string
  email: string
  name: string
  status: string
  lastLoginAt: string | null
  createdAt: string | null
  /** role in --tenant, when given */
  role?: string
}

export interface ListReport {
  database: DatabaseInfo
  total: number
  limit: number
  offset: number
  accounts: ListedAccount[]
}

/** `%text%` for LIKE, with LIKE's own metacharacters escaped (backslash is the default escape on PG and MySQL). */
export function likeContains(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

export async function listAccounts(deps: AccountDeps, input: ListInput): Promise<ListReport> {
  if (input.tenantId && !isUuid(input.tenantId))
    throw new UsageError(`--tenant must be a workspace id (a UUID), not "${input.tenantId}".`)
  if (input.limit < 1 || input.offset < 0) throw new UsageError('--limit must be at least 1 and --offset at least 0.')
  const db = await deps.db()
  const profile = await profileChecked(deps, db, { writes: false })
  let q = db.kysely.selectFrom('accounts as a')
  if (input.tenantId)
    q = q.innerJoin('tenant_account_joins as j', (join) =>
      join.onRef('j.account_id', '=', 'a.id').on('j.tenant_id', '=', input.tenantId!.toLowerCase()),
    )
  if (input.status) q = q.where('a.status', '=', input.status)
  if (input.search) {
    const pat = likeContains(input.search)
    q = q.where((eb) => eb.or([eb(sql`lower(a.email)`, 'like', pat), eb(sql`lower(a.name)`, 'like', pat)]))
  }
  const totalRow = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst()
  const rows = await q
    .select(['a.id', 'a.email', 'a.name', 'a.status', 'a.last_login_at', 'a.created_at'])
    .$if(Boolean(input.tenantId), (qb) => qb.select(sql<string>`j.role`.as('role')))
    .orderBy('a.created_at')
    .orderBy('a.id')
    .limit(input.limit)
    .offset(input.offset)
    .execute()
  return {
    database: dbInfo(profile),
    total: Number(totalRow?.n ?? 0),
    limit: input.limit,
    offset: input.offset,
    accounts: rows.map((r) => {
      const row = r as typeof r & { role?: string }
      return {
        id: String(r.id),
        email: r.email,
        name: r.name,
        status: r.status,
        lastLoginAt: iso(r.last_login_at),
        createdAt: iso(r.created_at),
        ...(row.role !== undefined ? { role: String(row.role) } : {}),
      }
    }),
  }
}
