/**
 * Small helpers for the revisions 1.0.1 → 1.11.0 (4413929e1ec2 … d57accd375ae): table descriptions taken from the
 * baseline's declarative schema (the same table, cut to what it looked like when the revision created it), column
 * alterations the render helpers do not cover, and the "keep what Dify deletes" backups.
 */
import { sql } from 'kysely'
import { BASELINE_SCHEMA } from '../baseline/schema.js'
import type { ColumnSpec, IndexSpec, TableSpec } from '../baseline/model.js'
import { renderIndex, renderTable } from '../baseline/render.js'
import { ddl, raw, stmt } from '../compile.js'
import type { DataEffect, SqlDialect, Statement } from '../types.js'

export interface TableCut {
  /** keep only these columns, in the baseline's order (default: all) */
  columns?: string[]
  /** column overrides (what the column was when the table was created) */
  override?: Record<string, Partial<ColumnSpec>>
  /** columns appended after the baseline's (they were dropped later) */
  append?: ColumnSpec[]
  /** keep only these indexes (default: all) */
  indexes?: string[]
}

/** A table as the baseline describes it at d57accd375ae, cut back to its shape when a revision created it. */
export function baselineTable(name: string, cut: TableCut = {}): TableSpec {
  const t = BASELINE_SCHEMA.tables.find((x) => x.name === name)
  if (!t) throw new Error(`table ${name} is not in the baseline description`)
  let columns = cut.columns
    ? cut.columns.map((c) => t.columns.find((x) => x.name === c) ?? missing(name, c))
    : t.columns
  columns = columns.map((c) => (cut.override?.[c.name] ? { ...c, ...cut.override[c.name] } : c))
  const indexes: IndexSpec[] | undefined = cut.indexes
    ? (t.indexes ?? []).filter((i) => cut.indexes!.includes(i.name))
    : t.indexes
  return { ...t, columns: [...columns, ...(cut.append ?? [])], indexes }
}

function missing(table: string, col: string): never {
  throw new Error(`column ${table}.${col} is not in the baseline description`)
}

/** CREATE TABLE from the baseline description (see baselineTable). */
export function createFromBaseline(dialect: SqlDialect, name: string, cut: TableCut = {}): Statement[] {
  return renderTable(dialect, baselineTable(name, cut))
}

/** ALTER TABLE … ALTER COLUMN … TYPE (PostgreSQL; `using` only where the cast needs it). */
export function alterType(dialect: SqlDialect, table: string, column: string, type: string, using?: string): Statement {
  if (dialect !== 'postgres') throw new Error('alterType is PostgreSQL only')
  if (using) return raw(`ALTER TABLE ${table} ALTER COLUMN ${column} TYPE ${type} USING ${using}`, { table })
  return stmt(
    dialect,
    ddl(dialect)
      .schema.alterTable(table)
      .alterColumn(column, (c) => c.setDataType(sql.raw(type))),
    { table },
  )
}

export function setDefault(dialect: SqlDialect, table: string, column: string, expr: string): Statement {
  return stmt(
    dialect,
    ddl(dialect)
      .schema.alterTable(table)
      .alterColumn(column, (c) => c.setDefault(sql.raw(expr))),
    { table },
  )
}

export function setNotNull(dialect: SqlDialect, table: string, column: string): Statement {
  return stmt(
    dialect,
    ddl(dialect)
      .schema.alterTable(table)
      .alterColumn(column, (c) => c.setNotNull()),
    { table },
  )
}

export function dropColumn(dialect: SqlDialect, table: string, column: string): Statement {
  return stmt(dialect, ddl(dialect).schema.alterTable(table).dropColumn(column), { table })
}

export function dropIndex(dialect: SqlDialect, table: string, name: string): Statement {
  const d = ddl(dialect).schema.dropIndex(name)
  return stmt(dialect, dialect === 'mysql' ? d.on(table) : d, { table })
}

/** CREATE INDEX CONCURRENTLY (PostgreSQL, outside the transaction, as Alembic's autocommit_block). */
export function createIndexConcurrently(table: string, i: IndexSpec): Statement {
  const [s] = renderIndex('postgres', table, i)
  return {
    ...s!,
    sql: s!.sql.replace(
      /^create (unique )?index /i,
      (_m, u: string | undefined) => `create ${u ?? ''}index concurrently `,
    ),
    noTransaction: true,
  }
}

/** The dify_ops_ table that keeps what `revision` deletes from `table`. */
export function backupTableName(revision: string, table: string): string {
  return `dify_ops_backup_${revision}_${table}`.slice(0, 63)
}

/**
 * Keep the values of `columns` that a revision is about to drop: `CREATE TABLE dify_ops_backup_<rev>_<table> AS
 * SELECT <key>, <columns> FROM <table> WHERE any of them is not null`. Always created (empty when nothing was set),
 * in the revision's own transaction on PostgreSQL, so it exists exactly when the drop happened.
 */
export function backupColumns(
  dialect: SqlDialect,
  revision: string,
  table: string,
  key: string,
  columns: string[],
): Statement {
  const k = ddl(dialect)
  const name = backupTableName(revision, table)
  const select = k
    .selectFrom(table)
    .select([key, ...columns] as never)
    .where(sql<boolean>`${sql.raw(columns.map((c) => `${c} is not null`).join(' or '))}`)
  return raw(`CREATE TABLE ${name} AS ${stmt(dialect, select).sql}`, { table })
}

/** The data effect of dropping columns with a backup (shown by --dry-run and db status). */
export function droppedColumnsEffect(revision: string, table: string, columns: string[], what?: string): DataEffect {
  return {
    table,
    description:
      what ??
      `drops ${table}.${columns.join(', ')}; the non-null values are kept in ${backupTableName(revision, table)}`,
    backupTable: backupTableName(revision, table),
    countSql: () => `SELECT count(*) AS n FROM ${table} WHERE ${columns.map((c) => `${c} IS NOT NULL`).join(' OR ')}`,
  }
}
