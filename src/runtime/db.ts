import type { DbConfig } from '../config/schema.js'
import { ConfigError, ConnectError, DifyOpsError } from '../core/errors.js'
import type { DifyDatabase } from '../core/tables.js'
import type { Db } from '../core/db.js'
import { Guard, type Limits } from './faults.js'
import { instrumentMysql, instrumentPg, mysqlSessionSql, pgSessionSql } from './db-guard.js'

/** Open the metadata database. Throws ConnectError (exit 5) when it cannot be reached within the timeout. */
export async function openDb(
  cfg: DbConfig,
  opts: {
    connectTimeoutMs: number
    maxConnections?: number
    database?: string
    createEmbedded?: boolean
    limits?: Limits
    guard?: Guard
  },
): Promise<Db> {
  const database = opts.database ?? cfg.database
  // without limits (direct callers such as tests) the sessions keep the server's settings and have no deadline
  const limits: Limits = opts.limits ?? { lockTimeoutMs: 0, statementTimeoutMs: 0, commandTimeoutMs: 0 }
  const setSession = opts.limits !== undefined
  const guard = opts.guard ?? new Guard()
  if (cfg.type === 'pglite') {
    const { openPglite } = await import('./pglite.js')
    return openPglite(cfg.pgliteDir, { create: opts.createEmbedded ?? true })
  }
  const { Kysely, PostgresDialect, MysqlDialect } = await import('./kysely.js')
  if (cfg.type === 'postgresql') {
    const pg = (await import('pg')).default
    // timestamps "without time zone" come back as text-free Date objects in UTC, as Dify stores UTC
    pg.types.setTypeParser(1114, (s: string) => new Date(s.replace(' ', 'T') + 'Z'))
    pg.types.setTypeParser(20, (s: string) => Number(s))
    const pool = new pg.Pool({
      host: cfg.host,
      port: cfg.port,
      user: cfg.user,
      password: cfg.password,
      database,
      options: cfg.pgOptions,
      connectionTimeoutMillis: opts.connectTimeoutMs,
      max: opts.maxConnections ?? 4,
      application_name: 'dify-ops',
      ...(cfg.extras.client_encoding ? { client_encoding: cfg.extras.client_encoding } : {}),
      // every new session: the lock and statement timeouts, the fault bookkeeping (src/runtime/db-guard.ts)
      onConnect: async (client: import('pg').ClientBase) => {
        const set = setSession ? pgSessionSql(limits, cfg.pgOptions) : ''
        if (set) await client.query(set)
        instrumentPg(client as never, { guard, limits, host: cfg.host, port: cfg.port, pgOptions: cfg.pgOptions })
      },
    })
    pool.on('error', () => {}) // idle client errors surface on next query (and are noted by the guard)
    const describe = `postgresql://${cfg.host}:${cfg.port}/${database}`
    try {
      const c = await pool.connect()
      c.release()
    } catch (e) {
      await pool.end().catch(() => {})
      throw dbConnectError(e, 'PostgreSQL', cfg, database)
    }
    const kysely = new Kysely<DifyDatabase>({ dialect: new PostgresDialect({ pool }) })
    return {
      kysely,
      dialect: 'postgres',
      type: cfg.type,
      describe,
      transactionalDdl: true,
      withPgSession: async (fn) => {
        const c = await pool.connect()
        try {
          return await fn(c as never)
        } finally {
          c.release()
        }
      },
      close: () => kysely.destroy(),
    }
  }
  if (cfg.type === 'mysql' || cfg.type === 'oceanbase') {
    const mysql = (await import('mysql2')).default
    const pool = mysql.createPool({
      host: cfg.host,
      port: cfg.port,
      user: cfg.user,
      password: cfg.password,
      database,
      connectTimeout: opts.connectTimeoutMs,
      connectionLimit: opts.maxConnections ?? 4,
      timezone: 'Z',
      dateStrings: false,
      supportBigNumbers: true,
      bigNumberStrings: false,
      charset: 'utf8mb4',
    })
    const describe = `${cfg.type}://${cfg.host}:${cfg.port}/${database}`
    const flavour: { mariadb?: boolean } = {}
    const connOpts = {
      host: cfg.host,
      port: cfg.port,
      user: cfg.user,
      password: cfg.password,
      database,
      connectTimeout: opts.connectTimeoutMs,
    }
    // every new session after the first: the timeouts and the fault bookkeeping (src/runtime/db-guard.ts)
    pool.on('connection', (conn) => {
      if (flavour.mariadb === undefined) return
      if (setSession) conn.query(mysqlSessionSql(limits, flavour.mariadb), () => {})
      instrumentMysql(conn as never, { guard, limits, connOpts, mysql })
    })
    try {
      await new Promise<void>((res, rej) =>
        pool.getConnection((err, conn) => {
          if (err) return rej(err)
          conn.query('select version() as v', (e2: unknown, rows: unknown) => {
            if (e2) {
              conn.release()
              return rej(e2)
            }
            flavour.mariadb = /mariadb/i.test(String((rows as Array<{ v?: string }>)?.[0]?.v ?? ''))
            conn.query(setSession ? mysqlSessionSql(limits, flavour.mariadb) : 'select 1', () => {
              instrumentMysql(conn as never, { guard, limits, connOpts, mysql })
              conn.release()
              res()
            })
          })
        }),
      )
    } catch (e) {
      await new Promise((r) => pool.end(() => r(undefined)))
      throw dbConnectError(e, cfg.type === 'oceanbase' ? 'OceanBase' : 'MySQL', cfg, database)
    }
    const kysely = new Kysely<DifyDatabase>({ dialect: new MysqlDialect({ pool: pool as never }) })
    return {
      kysely,
      dialect: 'mysql',
      type: cfg.type,
      describe,
      transactionalDdl: false,
      close: () => kysely.destroy(),
    }
  }
  throw new ConfigError(`DB_TYPE=${String(cfg.type)} is not supported.`)
}

function dbConnectError(e: unknown, product: string, cfg: DbConfig, database: string): DifyOpsError {
  const err = e as { code?: string; errno?: number; message?: string }
  const where = `${cfg.host}:${cfg.port}`
  const code = err.code ?? ''
  if (code === '3D000' || code === 'ER_BAD_DB_ERROR') {
    return new ConfigError(`The ${product} server at ${where} has no database "${database}".`, {
      hint: 'Check DB_DATABASE, or create the database first.',
      cause: e,
    })
  }
  if (code === '28P01' || code === '28000' || code === 'ER_ACCESS_DENIED_ERROR') {
    return new ConnectError(`The ${product} server at ${where} refused the login of user "${cfg.user}".`, {
      hint: 'Check DB_USERNAME and DB_PASSWORD.',
      cause: e,
    })
  }
  // the server answered with an SQLSTATE about a setting (22023 invalid value, 42704 unknown parameter, …): the
  // settings we sent come from DB_EXTRAS/DB_CHARSET, not a network problem ("statement_timeout" is no time-out)
  if (/^(22|42)[0-9A-Z]{3}$/.test(code)) {
    return new ConfigError(
      `The ${product} server at ${where} rejected a connection setting: ${(err.message ?? '').split('\n')[0]}.`,
      {
        hint: 'Check DB_EXTRAS (and DB_CHARSET): each option must be one the server accepts.',
        details: { sqlstate: code },
        cause: e,
      },
    )
  }
  const reason =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host not found'
        : code === 'ETIMEDOUT' || /\btime(d)? ?out\b|timeout expired/i.test(err.message ?? '')
          ? 'timed out'
          : (err.message ?? String(e)).split('\n')[0]
  return new ConnectError(`Cannot connect to the metadata database (${product}) at ${where}: ${reason}.`, {
    hint: 'Check DB_HOST and DB_PORT, and that the database server is running and reachable from here.',
    cause: e,
  })
}
