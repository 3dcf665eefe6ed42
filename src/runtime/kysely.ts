/**
 * Kysely's classes the connections use, re-exported by name for runtime/db.ts and runtime/pglite.ts to import lazily.
 * A dynamic `import('kysely')` itself made esbuild keep all of Kysely (it cannot tell which names a namespace object
 * is used for): MSSQL and SQLite dialects, the migrator, plugins — ~100 KB compiled at every start of any command
 * that shares the chunk, used by none.
 */
export {
  Kysely,
  MysqlDialect,
  PostgresAdapter,
  PostgresDialect,
  PostgresIntrospector,
  PostgresQueryCompiler,
} from 'kysely'
