import { sql } from 'kysely'
import type { Db } from '../core/db.js'

/** What the database says about its schema version, read without writing anything. */
export interface DbState {
  /** null: no alembic_version table; []: the table exists with no row */
  versions: string[] | null
  /** tables in the schema other than alembic_version and the ones Dify's Alembic ignores */
  otherTables: string[]
}

/** Tables Dify's Alembic environment ignores (pgvector collections in the metadata DB) and the CLI's own tables. */
export function isIgnoredTable(name: string): boolean {
  return /^embedding_vector_index_.*_nod$/.test(name) || name.startsWith('dify_ops_')
}

/** A few tables every Dify schema has: their presence means "a Dify database", not "someone else's tables". */
export const DIFY_SENTINEL_TABLES = [
  'accounts',
  'tenants',
  'apps',
  'dify_setups',
  'datasets',
  'celery_taskmeta',
] as const

export async function readDbState(db: Db): Promise<DbState> {
  // PostgreSQL: pg_class itself (what information_schema.tables calls BASE TABLE: ordinary and partitioned tables),
  // without the view's privilege checks on every row of the catalog (a third of this read on a fresh connection)
  const tables =
    db.dialect === 'postgres'
      ? await sql<{
          name: string
        }>`select c.relname as name from pg_class c where c.relnamespace = (select oid from pg_namespace where nspname = current_schema()) and c.relkind in ('r', 'p')`.execute(
          db.kysely,
        )
      : await sql<{
          name: string
        }>`select table_name as name from information_schema.tables where table_schema = database() and table_type = 'BASE TABLE'`.execute(
          db.kysely,
        )
  const names = tables.rows.map((r) =>
    String(r.name ?? (r as Record<string, unknown>).NAME ?? (r as Record<string, unknown>).TABLE_NAME),
  )
  let versions: string[] | null = null
  if (names.includes('alembic_version')) {
    const rows = await sql<{ version_num: string }>`select version_num from alembic_version`.execute(db.kysely)
    versions = rows.rows.map((r) => r.version_num)
  }
  return { versions, otherTables: names.filter((n) => n !== 'alembic_version' && !isIgnoredTable(n)).sort() }
}

/** alembic_version's rows only (the table is known to exist; null if it was dropped meanwhile). */
export async function readVersions(db: Db): Promise<string[] | null> {
  try {
    return (await sql<{ version_num: string }>`select version_num from alembic_version`.execute(db.kysely)).rows.map(
      (r) => r.version_num,
    )
  } catch {
    return (await readDbState(db)).versions
  }
}
