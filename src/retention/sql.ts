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

/** Each table's indexes (and unique constraints / primary key), each as its ordered key columns: one catalog query. */
export async function tablesIndexes(
  db: Db,
  tables: readonly string[],
): Promise<Map<string, Array<{ name: string; columns: string[] }>>> {
  const out = new Map<string, Array<{ name: string; columns: string[] }>>(tables.map((t) => [t, []]))
  if (!tables.length) return out
  const list = sql.join(tables.map((t) => sql`${t}`))
  if (db.dialect === 'postgres') {
    const r = await sql<{
      t: string
      name: string
      cols: string
      partial: boolean
    }>`select t.relname as t, ic.relname as name,
        (select string_agg(pg_get_indexdef(x.indexrelid, k, true), ',' order by k) from generate_series(1, x.indnkeyatts) k) as cols,
        x.indpred is not null as partial
      from pg_index x join pg_class ic on ic.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
      join pg_namespace n on n.oid = t.relnamespace where n.nspname = current_schema() and t.relname in (${list})
      order by t.relname, ic.relname`.execute(db.kysely)
    for (const x of r.rows)
      if (!x.partial)
        out.get(x.t)?.push({ name: x.name, columns: x.cols.split(',').map((c) => c.replace(/"/g, '').trim()) })
    return out
  }
  const r = await sql<{ t: string; name: string; col: string }>`select table_name as t, index_name as name,
      column_name as col from information_schema.statistics where table_schema = database() and table_name in (${list})
      order by table_name, index_name, seq_in_index`.execute(db.kysely)
  const byTable = new Map<string, Map<string, string[]>>()
  for (const x of r.rows) {
    const m = byTable.get(x.t) ?? new Map<string, string[]>()
    byTable.set(x.t, m)
    m.set(x.name, [...(m.get(x.name) ?? []), x.col])
  }
  for (const [t, m] of byTable)
    out.set(
      t,
      [...m].map(([name, columns]) => ({ name, columns })),
    )
  return out
}

/** Each table's total size (data + indexes + TOAST) and row estimate, from the statistics: one catalog query. */
export async function tableSizes(
  db: Db,
  tables: readonly string[],
): Promise<Map<string, { bytes: number; estimatedRows: number }>> {
  const out = new Map<string, { bytes: number; estimatedRows: number }>(
    tables.map((t) => [t, { bytes: 0, estimatedRows: 0 }]),
  )
  if (!tables.length) return out
  const list = sql.join(tables.map((t) => sql`${t}`))
  const r =
    db.dialect === 'postgres'
      ? await sql<{ t: string; bytes: string; est: string }>`select c.relname as t,
          pg_total_relation_size(c.oid)::bigint as bytes, greatest(c.reltuples, 0)::bigint as est
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = current_schema() and c.relname in (${list}) and c.relkind = 'r'`.execute(db.kysely)
      : await sql<{ t: string; bytes: string; est: string }>`select table_name as t,
          coalesce(data_length, 0) + coalesce(index_length, 0) as bytes, coalesce(table_rows, 0) as est
          from information_schema.tables where table_schema = database() and table_name in (${list})`.execute(db.kysely)
  for (const x of r.rows) out.set(x.t, { bytes: Number(x.bytes ?? 0), estimatedRows: Number(x.est ?? 0) })
  return out
}

/** The table's total size (data + indexes + TOAST) and its row estimate, from the statistics. */
export async function tableSize(db: Db, table: string): Promise<{ bytes: number; estimatedRows: number }> {
  return (await tableSizes(db, [table])).get(table)!
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
