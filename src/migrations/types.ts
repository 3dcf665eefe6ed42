/**
 * DECISION (schema helper ↔ runner helper): the `alembic_version` table belongs to the runner, exactly as it belongs
 * to Alembic. No revision's statements create, fill or change it — the baseline creates everything EXCEPT
 * alembic_version. The runner creates it when missing, on both dialects, as Alembic does:
 *   CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))
 * then INSERTs the first revision it applies (the baseline on a fresh database) and UPDATEs the row after each
 * revision (in the same transaction on PostgreSQL). `ALEMBIC_VERSION_DDL` below is that statement, for both runner
 * and test support (test/support/dify-schema.ts createDifySchema).
 */
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
  /**
   * false: the revision is older than Dify's MySQL support (1.10.1, 09cfdda155d1), so it is never applied on MySQL
   * (a MySQL database older than that is refused) and `statements('mysql')` is empty.
   */
  mysql?: false
  /** what the revision does to existing rows (deletes, moves, rewrites), shown by --dry-run and db status */
  dataEffects?: DataEffect[]
}

/** A change a revision makes to existing data, counted read-only before it runs. */
export interface DataEffect {
  table: string
  /** one sentence: what happens to the rows counted */
  description: string
  /** a read-only `SELECT count(*) AS n …` of the rows affected (fails harmlessly when the column does not exist yet) */
  countSql(dialect: SqlDialect): string
  /** the dify_ops_ table that keeps what the revision deletes */
  backupTable?: string
}

/** Alembic's own version table, created by the runner (never by a revision). Same text on PostgreSQL and MySQL. */
export const ALEMBIC_VERSION_DDL =
  'CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))'
