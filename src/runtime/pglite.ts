import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { CompiledQuery } from 'kysely'
import type { DatabaseConnection, Driver, QueryResult, TransactionSettings } from 'kysely'
import type { Db } from '../core/db.js'
import type { DifyDatabase } from '../core/tables.js'
import { ConfigError } from '../core/errors.js'

interface PgliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number }>
  exec(sql: string): Promise<unknown>
  close(): Promise<void>
}

/** A Kysely driver over an embedded PGlite (one session, so one connection serialised by a mutex). */
class PgliteDriver implements Driver {
  #db: PgliteLike
  #queue: Promise<void> = Promise.resolve()
  constructor(db: PgliteLike) {
    this.#db = db
  }
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    let release!: () => void
    const prev = this.#queue
    this.#queue = new Promise<void>((r) => (release = r))
    await prev
    const db = this.#db
    const conn: DatabaseConnection & { release: () => void } = {
      release,
      async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
        const res = await db.query<R>(q.sql, q.parameters as unknown[])
        const affected = res.affectedRows
        return { rows: res.rows, ...(affected !== undefined ? { numAffectedRows: BigInt(affected) } : {}) }
      },

      async *streamQuery<R>(q: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
        const res = await db.query<R>(q.sql, q.parameters as unknown[])
        yield { rows: res.rows }
      },
    }
    return conn
  }
  async beginTransaction(c: DatabaseConnection, _s: TransactionSettings): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('begin'))
  }
  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('commit'))
  }
  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('rollback'))
  }
  async releaseConnection(c: DatabaseConnection): Promise<void> {
    ;(c as unknown as { release: () => void }).release()
  }
  async destroy(): Promise<void> {
    await this.#db.close()
  }
}

/**
 * Open (creating if needed) the embedded PGlite database in `dir`. With `create: false` (a dry run) a database that
 * does not exist yet is not created on disk: an empty one is opened in memory instead, so the plan is shown and
 * nothing is written.
 */
export async function openPglite(dir: string, opts: { create?: boolean } = {}): Promise<Db> {
  let mod: typeof import('@electric-sql/pglite')
  let uuidOssp: unknown
  try {
    mod = await import('@electric-sql/pglite')
    uuidOssp = (await import('@electric-sql/pglite/contrib/uuid_ossp')).uuid_ossp
  } catch {
    throw new ConfigError('The embedded PGlite database is not installed with this copy of dify-ops.', {
      hint: 'Set DB_TYPE and DB_HOST (and the other DB_* variables) to use a real database.',
    })
  }
  const inMemory = opts.create === false && !existsSync(join(dir, 'PG_VERSION'))
  if (!inMemory) mkdirSync(dir, { recursive: true })
  const pg = (await mod.PGlite.create(inMemory ? 'memory://' : dir, {
    extensions: { uuid_ossp: uuidOssp as never },
  })) as unknown as PgliteLike
  await pg.exec("set timezone = 'UTC'")
  const { Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } = await import('./kysely.js')
  const kysely = new Kysely<DifyDatabase>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new PgliteDriver(pg),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  })
  return {
    kysely,
    dialect: 'postgres',
    type: 'pglite',
    describe: `pglite:${dir}${inMemory ? ' (does not exist yet; empty, in memory)' : ''}`,
    transactionalDdl: true,
    close: () => kysely.destroy(),
  }
}
