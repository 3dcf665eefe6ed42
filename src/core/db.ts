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
  close(): Promise<void>
}
