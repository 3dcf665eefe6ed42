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

/** Runs one SQL statement on the runner's connection and returns its rows (for code steps and failure hooks). */
export type Query = (text: string) => Promise<Record<string, unknown>[]>

export interface Statement {
  /** the SQL to run; for a code step (`run`) the SQL it stands for in --sql output (its usual path, or a comment) */
  sql: string
  /** must run outside a transaction block (CREATE/DROP INDEX CONCURRENTLY): the runner commits before and begins after */
  noTransaction?: boolean
  /** the table it locks or changes, for lock-timeout messages and the plan's impact list */
  table?: string
  /** the lock it takes, when it cannot be read from the SQL (code steps); see impact.ts */
  lock?: string
  /**
   * A step that must look at the database first (Dify decides at run time: a column that may already exist, a JSON
   * rewrite done row by row). Runs instead of `sql` on a live database; --sql prints `sql`.
   */
  run?: (q: Query) => Promise<void>
  /**
   * Called when the statement failed, on the same connection, outside any transaction: may clean up (drop an INVALID
   * index) and return a clearer message and hint for the operator (exit 1 stays).
   */
  onError?: (
    q: Query,
    error: unknown,
  ) => Promise<{ message: string; hint: string; details?: Record<string, unknown> } | undefined>
}

/** The rows behind a data effect, listed by `db status` and `upgrade-db --dry-run` (e.g. per tenant). */
export interface RevisionPreview {
  /** what the rows are, e.g. "tenant_default_models rows that will be removed (copied to …), per tenant" */
  title: string
  /** a read-only SELECT for the dialect */
  sql(dialect: SqlDialect): string
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
  /**
   * What the revision does to existing rows (deletes, moves, rewrites): the one declaration `db status` and
   * `upgrade-db --dry-run` read (impact.ts: each effect counted, its preview rows listed under the revision).
   * Every revision that deletes or rewrites data declares one.
   */
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
  /** the affected rows in detail (shown as the pending revision's `preview`); at most one effect of a revision has one */
  preview?: RevisionPreview
}

/** Alembic's own version table, created by the runner (never by a revision). Same text on PostgreSQL and MySQL. */
export const ALEMBIC_VERSION_DDL =
  'CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))'
