/**
 * Small DDL/DML helpers for the revisions after 788d3099ae3a (our own statements, compiled by Kysely without a
 * connection; see compile.ts). Where MySQL needs another form than PostgreSQL the helper says so.
 */
import { ddl, lit, sql, stmt } from './compile.js'
import type { Query, SqlDialect, Statement } from './types.js'

/** DROP INDEX (PG: schema-level name; MySQL: `DROP INDEX name ON table`). */
export function dropIndex(dialect: SqlDialect, table: string, name: string): Statement {
  const k = ddl(dialect)
  return stmt(dialect, dialect === 'postgres' ? k.schema.dropIndex(name) : k.schema.dropIndex(name).on(table), {
    table,
  })
}

/** Drop a unique constraint (PG: DROP CONSTRAINT; MySQL: a unique constraint is a unique index, DROP INDEX). */
export function dropUnique(dialect: SqlDialect, table: string, name: string): Statement {
  const k = ddl(dialect).schema.alterTable(table)
  return stmt(dialect, dialect === 'postgres' ? k.dropConstraint(name) : k.dropIndex(name), { table })
}

/** ALTER TABLE … ADD CONSTRAINT name UNIQUE (cols) (same on both dialects). */
export function addUnique(dialect: SqlDialect, table: string, name: string, columns: string[]): Statement {
  return stmt(
    dialect,
    ddl(dialect)
      .schema.alterTable(table)
      .addUniqueConstraint(name, columns as never),
    { table },
  )
}

/** ALTER TABLE … ALTER COLUMN c DROP DEFAULT (same on both dialects). */
export function dropDefault(dialect: SqlDialect, table: string, column: string): Statement {
  return stmt(
    dialect,
    ddl(dialect)
      .schema.alterTable(table)
      .alterColumn(column, (c) => c.dropDefault()),
    { table },
  )
}

/** UPDATE table SET col = <expr> WHERE <predicate> (expressions are SQL text of our own, identical on both dialects). */
export function update(dialect: SqlDialect, table: string, set: Record<string, string>, where: string): Statement {
  const values = Object.fromEntries(Object.entries(set).map(([c, e]) => [c, sql.raw(e)]))
  return stmt(dialect, ddl(dialect).updateTable(table).set(values).where(sql.raw<boolean>(where)), { table })
}

/** Does `table.column` exist in the current schema/database? (information_schema, both dialects) */
export async function columnExists(q: Query, dialect: SqlDialect, table: string, column: string): Promise<boolean> {
  // PG: the catalog directly (information_schema.columns is slow on a big schema)
  const rows =
    dialect === 'postgres'
      ? await q(
          `SELECT 1 AS x FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = ${lit(dialect, table)} AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND a.attname = ${lit(dialect, column)} AND a.attnum > 0 AND NOT a.attisdropped`,
        )
      : await q(
          `SELECT 1 AS x FROM information_schema.columns WHERE table_schema = database() AND table_name = ${lit(dialect, table)} AND column_name = ${lit(dialect, column)}`,
        )
  return rows.length > 0
}

/** A statement that runs only when the column is missing (Dify's "skip if it already exists" checks); --sql prints the ALTER. */
export function addColumnIfMissing(dialect: SqlDialect, table: string, add: Statement, column: string): Statement {
  return {
    ...add,
    run: async (q) => {
      if (!(await columnExists(q, dialect, table, column))) await q(add.sql)
    },
  }
}

/** Does the index / unique constraint `name` exist on `table`? (PG: pg_class in the current schema; MySQL: information_schema.statistics) */
export async function indexExists(q: Query, dialect: SqlDialect, table: string, name: string): Promise<boolean> {
  const rows =
    dialect === 'postgres'
      ? await q(
          `SELECT 1 AS x FROM pg_class c WHERE c.relname = ${lit(dialect, name)} AND c.relkind = 'i' AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`,
        )
      : await q(
          `SELECT 1 AS x FROM information_schema.statistics WHERE table_schema = database() AND table_name = ${lit(dialect, table)} AND index_name = ${lit(dialect, name)} LIMIT 1`,
        )
  return rows.length > 0
}

/** A statement that runs only while the index / unique constraint still exists (a rerun after a partial run); --sql prints the DROP. */
export function dropIfPresent(dialect: SqlDialect, table: string, drop: Statement, name: string): Statement {
  return {
    ...drop,
    run: async (q) => {
      if (await indexExists(q, dialect, table, name)) await q(drop.sql)
    },
  }
}
