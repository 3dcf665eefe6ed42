import { sql } from 'kysely'
import type { Db } from '../core/db.js'
import type { EncryptedColumn } from '../dify/encrypted-columns.js'
import { anyDb } from './tenants.js'

export interface StoredValue {
  id: string
  tenantId: string
  /** the column's stored text (JSON as text), or null */
  raw: string | null
}

/**
 * The encrypted columns this database has: the table and the column exist (and, for rows whose tenant is their app's,
 * `apps` too). This decides the locations of the connected release (see src/dify/encrypted-columns.ts).
 */
export async function presentColumns(db: Db, columns: readonly EncryptedColumn[]): Promise<EncryptedColumn[]> {
  const tables = [...new Set(columns.flatMap((c) => (c.tenantVia === 'app' ? [c.table, 'apps'] : [c.table])))]
  if (!tables.length) return []
  const k = anyDb(db)
  const rows =
    db.dialect === 'postgres'
      ? await sql<{
          t: string
          c: string
        }>`select table_name as t, column_name as c from information_schema.columns where table_schema = current_schema() and table_name in (${sql.join(tables)})`.execute(
          k,
        )
      : await sql<{
          t: string
          c: string
        }>`select table_name as t, column_name as c from information_schema.columns where table_schema = database() and table_name in (${sql.join(tables)})`.execute(
          k,
        )
  const have = new Set(
    rows.rows.map((r) => {
      const x = r as Record<string, unknown>
      return `${String(x.t ?? x.TABLE_NAME)}.${String(x.c ?? x.COLUMN_NAME)}`
    }),
  )
  return columns.filter(
    (c) =>
      have.has(`${c.table}.${c.column}`) &&
      (c.tenantVia !== 'app' || (have.has(`${c.table}.app_id`) && have.has('apps.tenant_id'))),
  )
}

/** the column as text, whatever its type (text, json, jsonb, MySQL JSON) */
export function rawExpr(db: Db, column: string) {
  return db.dialect === 'postgres'
    ? sql<string | null>`${sql.ref(column)}::text`
    : sql<string | null>`cast(${sql.ref(column)} as char)`
}

/**
 * Every stored value of one encrypted column, page by page (keyset on id), optionally only for some tenants.
 * Rows whose tenant is their app's are joined to `apps` (a row of a deleted app has no tenant and is not seen).
 * `k` may be a transaction.
 */
export async function* scanColumn(
  db: Db,
  col: EncryptedColumn,
  opts: { tenantIds?: string[]; pageSize?: number; k?: ReturnType<typeof anyDb> } = {},
): AsyncGenerator<StoredValue[]> {
  const k = opts.k ?? anyDb(db)
  if (opts.tenantIds && opts.tenantIds.length === 0) return
  const size = opts.pageSize ?? 1000
  const viaApp = col.tenantVia === 'app'
  if (viaApp && opts.tenantIds) {
    yield* scanAppOwned(db, col, opts.tenantIds, size, k)
    return
  }
  const id = 'c.id'
  const tenant = viaApp ? 'a.tenant_id' : 'c.tenant_id'
  let last: string | undefined
  for (;;) {
    const from = viaApp
      ? k.selectFrom(`${col.table} as c`).innerJoin('apps as a', 'a.id', 'c.app_id')
      : k.selectFrom(`${col.table} as c`)
    let s = from
      .select([
        sql<string>`${sql.ref(id)}`.as('id'),
        sql<string>`${sql.ref(tenant)}`.as('tenant_id'),
        rawExpr(db, `c.${col.column}`).as('raw'),
      ])
      .orderBy(id)
      .limit(size)
    if (opts.tenantIds) s = s.where(tenant, 'in', opts.tenantIds)
    if (col.nullable) s = s.where(`c.${col.column}`, 'is not', null)
    if (last !== undefined) s = s.where(id, '>', last)
    const rows = (await s.execute()) as Array<{ id: string; tenant_id: string; raw: string | null }>
    if (!rows.length) return
    yield rows.map((r) => ({
      id: String(r.id),
      tenantId: String(r.tenant_id),
      raw: r.raw === null ? null : String(r.raw),
    }))
    if (rows.length < size) return
    last = String(rows[rows.length - 1]!.id)
  }
}

/**
 * The app-owned rows of some tenants: their apps first (apps.tenant_id index), then the rows by app_id (the tables'
 * app_id index), so a per-tenant scan (rotate) never walks the whole table.
 */
async function* scanAppOwned(
  db: Db,
  col: EncryptedColumn,
  tenantIds: string[],
  size: number,
  k: ReturnType<typeof anyDb>,
): AsyncGenerator<StoredValue[]> {
  const apps = (await k
    .selectFrom('apps')
    .select(['id', 'tenant_id'])
    .where('tenant_id', 'in', tenantIds)
    .execute()) as Array<{ id: string; tenant_id: string }>
  const tenantOf = new Map(apps.map((a) => [String(a.id), String(a.tenant_id)]))
  const ids = [...tenantOf.keys()]
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000)
    let last: string | undefined
    for (;;) {
      let q = k
        .selectFrom(`${col.table} as c`)
        .select([
          sql<string>`${sql.ref('c.id')}`.as('id'),
          sql<string>`${sql.ref('c.app_id')}`.as('app_id'),
          rawExpr(db, `c.${col.column}`).as('raw'),
        ])
        .where('c.app_id', 'in', chunk)
        .orderBy('c.id')
        .limit(size)
      if (col.nullable) q = q.where(`c.${col.column}`, 'is not', null)
      if (last !== undefined) q = q.where('c.id', '>', last)
      const rows = (await q.execute()) as Array<{ id: string; app_id: string; raw: string | null }>
      if (!rows.length) break
      yield rows.map((r) => ({
        id: String(r.id),
        tenantId: tenantOf.get(String(r.app_id))!,
        raw: r.raw === null ? null : String(r.raw),
      }))
      if (rows.length < size) break
      last = String(rows[rows.length - 1]!.id)
    }
  }
}
