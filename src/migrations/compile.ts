/**
 * Compile Kysely schema-builder / query-builder nodes to SQL text without a database connection.
 *
 * A revision describes its DDL with Kysely's builders against `ddl(dialect)` (a Kysely instance on a DummyDriver
 * with the dialect's adapter and query compiler) and turns each builder into a `Statement` with `stmt()`. Raw SQL
 * (`sql\`…\``) is used only where the builder cannot say it (COMMENT ON, ALTER COLUMN … SET NOT NULL on PG,
 * CREATE FUNCTION, extensions, sequences); such statements go through `raw()`.
 *
 * Values are inlined (no bind parameters): the statements are printed by `--sql`, recorded before running on MySQL
 * and run as plain text, so a builder that produces parameters is a bug (`stmt()` throws).
 */
import {
  DummyDriver,
  Kysely,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely'
import type { Compilable, RawBuilder } from 'kysely'
import type { SqlDialect, Statement } from './types.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKysely = Kysely<any>

const cache = new Map<SqlDialect, AnyKysely>()

/** A connection-less Kysely instance speaking `dialect`; use its `.schema` builders, then `stmt()` them. */
export function ddl(dialect: SqlDialect): AnyKysely {
  let k = cache.get(dialect)
  if (!k) {
    k =
      dialect === 'postgres'
        ? new Kysely({
            dialect: {
              createAdapter: () => new PostgresAdapter(),
              createDriver: () => new DummyDriver(),
              createIntrospector: (db) => new PostgresIntrospector(db),
              createQueryCompiler: () => new PostgresQueryCompiler(),
            },
          })
        : new Kysely({
            dialect: {
              createAdapter: () => new MysqlAdapter(),
              createDriver: () => new DummyDriver(),
              createIntrospector: (db) => new MysqlIntrospector(db),
              createQueryCompiler: () => new MysqlQueryCompiler(),
            },
          })
    cache.set(dialect, k)
  }
  return k
}

/** Compile a builder (or raw `sql` fragment) to SQL text for `dialect`. Throws if it needs bind parameters. */
export function toSql(dialect: SqlDialect, node: Compilable | RawBuilder<unknown>): string {
  const compiled =
    'compile' in node && typeof node.compile === 'function'
      ? (node as Compilable).compile()
      : (node as RawBuilder<unknown>).compile(ddl(dialect))
  if (compiled.parameters.length > 0) {
    throw new Error(`statement needs bind parameters, which migrations must not use: ${compiled.sql}`)
  }
  return compiled.sql
}

/** A Statement from a builder. */
export function stmt(
  dialect: SqlDialect,
  node: Compilable | RawBuilder<unknown>,
  opts: Omit<Statement, 'sql'> = {},
): Statement {
  return { sql: toSql(dialect, node), ...opts }
}

/** A Statement from raw SQL text, for what the builder cannot say. */
export function raw(text: string, opts: Omit<Statement, 'sql'> = {}): Statement {
  return { sql: text, ...opts }
}

/** SQL string literal (single quotes doubled; MySQL also doubles backslashes). */
export function lit(dialect: SqlDialect, value: string): string {
  const v = value.replace(/'/g, "''")
  return `'${dialect === 'mysql' ? v.replace(/\\/g, '\\\\') : v}'`
}

export { sql }
