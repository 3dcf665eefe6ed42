import { randomBytes } from 'node:crypto'
import pg from 'pg'
import mysql from 'mysql2/promise'
import { Redis } from 'ioredis'
import { MYSQL, PG, REDIS } from './services.js'

export function scratchName(tag: string): string {
  return `dops_${tag
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()
    .slice(0, 20)}_${randomBytes(4).toString('hex')}`
}

export interface Scratch {
  name: string
  /** environment variables pointing dify-ops at this scratch database */
  env: Record<string, string>
  drop(): Promise<void>
}

/** A fresh PostgreSQL database of its own (optionally a copy of `template`); drop() removes it. */
/**
 * A scratch PostgreSQL database, empty or a copy of `template`. `fileCopy` (benchmarks): copy with STRATEGY FILE_COPY
 * (no WAL for the copy), then CHECKPOINT, so a timed run that follows starts clean.
 */
export async function scratchPg(tag: string, opts: { template?: string; fileCopy?: boolean } = {}): Promise<Scratch> {
  const name = scratchName(tag)
  const c = new pg.Client({ ...PG, database: 'postgres' })
  await c.connect()
  const strategy = opts.fileCopy ? ' strategy file_copy' : ''
  await c.query(`create database ${name}${opts.template ? ` template ${opts.template}${strategy}` : ''}`)
  if (opts.fileCopy) await c.query('checkpoint')
  await c.end()
  return {
    name,
    env: {
      DB_TYPE: 'postgresql',
      DB_HOST: PG.host,
      DB_PORT: String(PG.port),
      DB_USERNAME: PG.user,
      DB_PASSWORD: '',
      DB_DATABASE: name,
    },
    async drop() {
      const c2 = new pg.Client({ ...PG, database: 'postgres' })
      await c2.connect()
      await c2.query(`drop database if exists ${name} with (force)`)
      await c2.end()
    },
  }
}

/** A fresh MariaDB/MySQL database of its own. */
export async function scratchMysql(tag: string): Promise<Scratch> {
  const name = scratchName(tag)
  const c = await mysql.createConnection({ ...MYSQL })
  await c.query(`create database ${name} character set utf8mb4 collate utf8mb4_unicode_ci`)
  await c.end()
  return {
    name,
    env: {
      DB_TYPE: 'mysql',
      DB_HOST: MYSQL.host,
      DB_PORT: String(MYSQL.port),
      DB_USERNAME: MYSQL.user,
      DB_PASSWORD: '',
      DB_DATABASE: name,
    },
    async drop() {
      const c2 = await mysql.createConnection({ ...MYSQL })
      await c2.query(`drop database if exists ${name}`)
      await c2.end()
    },
  }
}

/** A plain SQL connection to a scratch database: `$1` placeholders and `"ident"` quoting on both dialects. */
export interface ScratchSql {
  query(text: string, params?: unknown[]): Promise<Array<Record<string, any>>>
  end(): Promise<void>
}

/** Connect to `s` (its dialect from `DB_TYPE`); MySQL sessions in UTC, as Dify stores naive UTC datetimes. */
export async function connectScratch(s: Scratch): Promise<ScratchSql> {
  if (s.env.DB_TYPE === 'postgresql') {
    const client = new pg.Client({ ...PG, database: s.name })
    await client.connect()
    return { query: async (text, params) => (await client.query(text, params)).rows, end: () => client.end() }
  }
  const conn = await mysql.createConnection({ ...MYSQL, database: s.name, timezone: 'Z' })
  return {
    query: async (text, params) =>
      (await conn.query(text.replace(/\$\d+/g, '?').replace(/"/g, '`'), params))[0] as Array<Record<string, any>>,
    end: () => conn.end(),
  }
}

export interface ScratchRedis {
  /** "<prefix>:" — every key dify-ops touches lives below it (REDIS_KEY_PREFIX) */
  prefix: string
  env: Record<string, string>
  client: Redis
  drop(): Promise<void>
}

/**
 * A Redis key space of its own: a unique REDIS_KEY_PREFIX on the shared server (DB 0 for the cache, DB 1 as the
 * broker, as in Dify). drop() deletes every key under the prefix in both databases.
 */
export async function scratchRedis(tag: string): Promise<ScratchRedis> {
  const p = scratchName(tag)
  const client = new Redis({ ...REDIS, db: 0, lazyConnect: true })
  await client.connect()
  return {
    prefix: `${p}:`,
    env: {
      REDIS_HOST: REDIS.host,
      REDIS_PORT: String(REDIS.port),
      REDIS_DB: '0',
      REDIS_KEY_PREFIX: p,
      CELERY_BROKER_URL: `redis://${REDIS.host}:${REDIS.port}/1`,
    },
    client,
    async drop() {
      for (const db of [0, 1]) {
        const c = new Redis({ ...REDIS, db })
        let cursor = '0'
        do {
          const [next, keys] = await c.scan(cursor, 'MATCH', `${p}:*`, 'COUNT', 1000)
          cursor = next
          if (keys.length) await c.del(...keys)
        } while (cursor !== '0')
        c.disconnect()
      }
      client.disconnect()
    },
  }
}
