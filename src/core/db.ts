/**
 * The metadata database as every layer sees it: a Kysely instance typed with Dify's tables, its dialect and a
 * description. Opened by src/runtime/db.ts; used by src/dify, src/migrations and every capability. It lives in
 * src/core so that the layers import it without importing each other.
 */
import type { Kysely } from 'kysely'
import type { DifyDatabase } from './tables.js'

/** SQL dialect spoken (PGlite speaks postgres) */
export type Dialect = 'postgres' | 'mysql'
/** the `DB_TYPE` values dify-ops connects to (Dify's, plus the embedded PGlite) */
export type DbType = 'postgresql' | 'mysql' | 'oceanbase' | 'pglite'

export interface Db {
  kysely: Kysely<DifyDatabase>
  dialect: Dialect
  type: DbType
  /** host:port/database or the PGlite directory, never credentials */
  describe: string
  /** whether DDL runs inside transactions (PostgreSQL yes, MySQL no) */
  transactionalDdl: boolean
  /**
   * PostgreSQL over node-pg only (absent on PGlite and MySQL): one pooled session of its own for `fn`, e.g. to hear
   * the NOTICEs of a long statement while it runs (src/retention/block.ts)
   */
  withPgSession?<T>(fn: (session: PgSession) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** The part of a node-pg client a caller of `Db.withPgSession` uses (same session setup as the pool's others). */
export interface PgSession {
  query(text: string): Promise<unknown>
  on(event: 'notice', listener: (notice: { message?: string }) => void): unknown
  removeListener(event: 'notice', listener: (notice: { message?: string }) => void): unknown
}
