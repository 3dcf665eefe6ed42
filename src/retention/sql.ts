/**
 * The SQL of `dify retention`, both dialects: identifiers, introspection (columns, indexes, sizes), the root
 * selection (age, status, app/tenant filters, keyset position) and text-exact column expressions for the archive.
 */
import { sql, type RawBuilder } from 'kysely'
import type { Db } from '../core/db.js'
import { CONVERSATION_GUARD, WORKFLOW_RUN_ENDED_STATUSES, type RetentionRoot } from '../dify/retention-map.js'

export const q = (db: Db, name: string): string =>
  db.dialect === 'postgres' ? `"${name.replace(/"/g, '""')}"` : `\`${name.replace(/`/g, '``')}\``

export interface ColumnInfo {
  name: string
  /** PostgreSQL: format_type(); MySQL: COLUMN_TYPE */
  type: string
  /** MySQL binary types travel as hex */
  binary: boolean
}

export async function tableColumns(db: Db, table: string): Promise<ColumnInfo[]> {
  if (db.dialect === 'postgres') {
    const r = await sql<{
      name: string
      type: string
    }>`select a.attname as name, format_type(a.atttypid, a.atttypmod) as type
      from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relname = ${table} and a.attnum > 0 and not a.attisdropped
      order by a.attnum`.execute(db.kysely)
    return r.rows.map((x) => ({ name: x.name, type: x.type, binary: x.type === 'bytea' }))
  }
  const r = await sql<{
    name: string
    type: string
    dt: string
  }>`select column_name as name, column_type as type, data_type as dt from information_schema.columns
      where table_schema = database() and table_name = ${table} order by ordinal_position`.execute(db.kysely)
  return r.rows.map((x) => ({
    name: x.name,
    type: x.type,
    binary: /^(binary|varbinary|tinyblob|blob|mediumblob|longblob)$/i.test(x.dt),
  }))
}

export async function existingTables(db: Db): Promise<Set<string>> {
  const r =
    db.dialect === 'postgres'
      ? await sql<{
          t: string
        }>`select table_name as t from information_schema.tables where table_schema = current_schema()`.execute(
          db.kysely,
        )
      : await sql<{
          t: string
        }>`select table_name as t from information_schema.tables where table_schema = database()`.execute(db.kysely)
  return new Set(r.rows.map((x) => x.t))
}

/** The table's indexes (and unique constraints / primary key), each as its ordered key columns. */
export async function tableIndexes(db: Db, table: string): Promise<Array<{ name: string; columns: string[] }>> {
  if (db.dialect === 'postgres') {
    const r = await sql<{ name: string; cols: string; partial: boolean }>`select ic.relname as name,
        (select string_agg(pg_get_indexdef(x.indexrelid, k, true), ',' order by k) from generate_series(1, x.indnkeyatts) k) as cols,
        x.indpred is not null as partial
      from pg_index x join pg_class ic on ic.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
      join pg_namespace n on n.oid = t.relnamespace where n.nspname = current_schema() and t.relname = ${table}`.execute(
      db.kysely,
    )
    return r.rows
      .filter((x) => !x.partial)
      .map((x) => ({ name: x.name, columns: x.cols.split(',').map((c) => c.replace(/"/g, '').trim()) }))
  }
  const r = await sql<{ name: string; col: string }>`select index_name as name, column_name as col
      from information_schema.statistics where table_schema = database() and table_name = ${table}
      order by index_name, seq_in_index`.execute(db.kysely)
  const out = new Map<string, string[]>()
  for (const x of r.rows) out.set(x.name, [...(out.get(x.name) ?? []), x.col])
  return [...out].map(([name, columns]) => ({ name, columns }))
}

/** The table's total size (data + indexes + TOAST) and its row estimate, from the statistics. */
export async function tableSize(db: Db, table: string): Promise<{ bytes: number; estimatedRows: number }> {
  if (db.dialect === 'postgres') {
    const r = await sql<{ bytes: string; est: string }>`select pg_total_relation_size(c.oid)::bigint as bytes,
        greatest(c.reltuples, 0)::bigint as est from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = current_schema() and c.relname = ${table} and c.relkind = 'r'`.execute(db.kysely)
    return { bytes: Number(r.rows[0]?.bytes ?? 0), estimatedRows: Number(r.rows[0]?.est ?? 0) }
  }
  const r = await sql<{
    bytes: string
    est: string
  }>`select coalesce(data_length, 0) + coalesce(index_length, 0) as bytes,
      coalesce(table_rows, 0) as est from information_schema.tables where table_schema = database() and table_name = ${table}`.execute(
    db.kysely,
  )
  return { bytes: Number(r.rows[0]?.bytes ?? 0), estimatedRows: Number(r.rows[0]?.est ?? 0) }
}

export interface RootFilter {
  /** the cut-off as the database stores timestamps (UTC, no zone): cutoffText() */
  cutoff: string
  apps: readonly string[]
  tenants: readonly string[]
}

/** The WHERE of a root (without the keyset position): older than the cut-off, closed, in the apps/tenants given. */
export function rootWhere(db: Db, root: RetentionRoot, f: RootFilter, alias = 'r'): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [sql`${sql.raw(`${alias}.${q(db, root.createdAt)}`)} < ${f.cutoff}`]
  if (root.group === 'workflow')
    parts.push(
      sql`${sql.raw(`${alias}.${q(db, 'status')}`)} in (${sql.join(WORKFLOW_RUN_ENDED_STATUSES.map((s) => sql`${s}`))})`,
    )
  if (f.apps.length) parts.push(sql`${sql.raw(`${alias}.${q(db, root.appColumn)}`)} in (${sql.join([...f.apps])})`)
  if (f.tenants.length) {
    if (root.tenantColumn)
      parts.push(sql`${sql.raw(`${alias}.${q(db, root.tenantColumn)}`)} in (${sql.join([...f.tenants])})`)
    else
      parts.push(
        sql`${sql.raw(`${alias}.${q(db, root.appColumn)}`)} in (select ${sql.raw(q(db, 'id'))} from ${sql.raw(q(db, 'apps'))} where ${sql.raw(q(db, 'tenant_id'))} in (${sql.join([...f.tenants])}))`,
      )
  }
  if (root.group === 'conversations')
    parts.push(
      sql`not exists (select 1 from ${sql.raw(q(db, CONVERSATION_GUARD.table))} g where g.${sql.raw(q(db, CONVERSATION_GUARD.column))} = ${sql.raw(`${alias}.${q(db, 'id')}`)})`,
    )
  return sql.join(parts, sql` and `)
}

/** A column as exact text: PostgreSQL `::text`, MySQL CAST AS CHAR (binary types as hex). */
export function textExpr(db: Db, c: ColumnInfo, alias = 't'): string {
  const col = `${alias}.${q(db, c.name)}`
  if (db.dialect === 'postgres') return `${col}::text as ${q(db, c.name)}`
  if (c.binary) return `hex(${col}) as ${q(db, c.name)}`
  return `cast(${col} as char character set utf8mb4) as ${q(db, c.name)}`
}

/** Split a list into chunks (IN lists stay short). */
export function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n))
  return out
}
