/**
 * The shape of one Dify Alembic revision in dify-ops (design: docs/migrations.md).
 *
 * A revision is pure: it returns the SQL statements to run for a dialect, compiled from Kysely's schema builder
 * without a connection (raw SQL only where the builder cannot say it). That one function serves `db upgrade`,
 * `db upgrade --sql` (print without connecting) and MySQL's pre-run record of what will run.
 */
export type SqlDialect = 'postgres' | 'mysql'

export interface Statement {
  sql: string
  /** must run outside a transaction block (CREATE/DROP INDEX CONCURRENTLY): the runner commits before and begins after */
  noTransaction?: boolean
  /** the table it locks or changes, for lock-timeout messages */
  table?: string
}

export interface Revision {
  /** Dify's Alembic revision id */
  revision: string
  /** Dify's down_revision; null for our baseline (a fresh database is created at this revision in one step) */
  downRevision: string | null
  /** first stable Dify release that contains it */
  release: string
  /** Dify's docstring title */
  description: string
  /** true for the baseline: only applied to an empty database */
  baseline?: boolean
  statements(dialect: SqlDialect): Statement[]
}
