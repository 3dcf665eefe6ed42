import { sql } from 'kysely'
import type { Db } from '../runtime/db.js'
import type { EncryptedColumn } from '../dify/encrypted-columns.js'
import { anyDb } from './tenants.js'

export interface StoredValue {
  id: string
  tenantId: string
  /** the column's stored text (JSON as text), or null */
  raw: string | null
}

/** Which tables of the list exist in this database (older releases lack some). */
export async function existingTables(db: Db, tables: string[]): Promise<Set<string>> {
  const k = anyDb(db)
  const rows =
    db.dialect === 'postgres'
      ? await sql<{ t: string }>`select table_name as t from information_schema.tables where table_schema = current_schema() and table_name in (${sql.join(tables)})`.execute(k)
      : await sql<{ t: string }>`select table_name as t from information_schema.tables where table_schema = database() and table_name in (${sql.join(tables)})`.execute(k)
  return new Set(rows.rows.map((r) => String(r.t ?? (r as Record<string, unknown>).T ?? (r as Record<string, unknown>).TABLE_NAME)))
}

/** the column as text, whatever its type (text, json, jsonb, MySQL JSON) */
export function rawExpr(db: Db, column: string) {
  return db.dialect === 'postgres' ? sql<string | null>`${sql.ref(column)}::text` : sql<string | null>`cast(${sql.ref(column)} as char)`
}

/**
 * Every stored value of one encrypted column, page by page (keyset on id), optionally only for some tenants.
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
  let last: string | undefined
  for (;;) {
    let q = k
      .selectFrom(col.table)
      .select([sql<string>`${sql.ref('id')}`.as('id'), sql<string>`${sql.ref('tenant_id')}`.as('tenant_id'), rawExpr(db, col.column).as('raw')])
      .orderBy('id')
      .limit(size)
    if (opts.tenantIds) q = q.where('tenant_id', 'in', opts.tenantIds)
    if (col.nullable) q = q.where(col.column, 'is not', null)
    if (last !== undefined) q = q.where('id', '>', last)
    const rows = (await q.execute()) as Array<{ id: string; tenant_id: string; raw: string | null }>
    if (!rows.length) return
    yield rows.map((r) => ({ id: String(r.id), tenantId: String(r.tenant_id), raw: r.raw === null ? null : String(r.raw) }))
    if (rows.length < size) return
    last = String(rows[rows.length - 1]!.id)
  }
}
