import { randomUUID } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { RedisHandle } from '../runtime/redis.js'
import type { Db } from '../core/db.js'
import { keys } from '../dify/keys.js'
import { profileFor } from '../dify/profile.js'
import { REVISIONS } from '../dify/releases.js'

/**
 * The key prefix of Dify's own upgrade lock for the Dify at hand. Dify applies REDIS_KEY_PREFIX to its Redis
 * names, the lock included, only from 1.14.0 (`api/extensions/ext_redis.py` RedisClientWrapper.lock →
 * `redis_names.serialize_redis_name`: `<prefix.strip()>:db_upgrade_lock`); 1.11 – 1.13.3 lock the bare
 * `db_upgrade_lock` whatever REDIS_KEY_PREFIX says. Decided from the head of the Dify code at hand when there is one
 * (that code's pods take the lock), else from the target revision. A code head newer than anything known is
 * treated as ≥ 1.14.0. Facts and tags: docs/migrations-runner.md §3.
 */
export function difyLockPrefix(keyPrefix: string, target: { revision: string; difyCodeHead?: string }): string {
  if (!keyPrefix) return ''
  const rev = target.difyCodeHead ?? target.revision
  const info = REVISIONS.get(rev)
  if (!info) return keyPrefix // a code head newer than known, or a revision outside Dify's chain
  const firstPrefixed = REVISIONS.get('8574b23a38fd')!.seq // the first revision of 1.14.0
  return profileFor(rev).redisKeyPrefixSupported || info.seq >= firstPrefixed ? keyPrefix : ''
}

/**
 * Dify's upgrade lock, taken exactly as Dify 1.11–1.12 takes it (redis-py `Lock`, name `db_upgrade_lock`,
 * timeout 60): `SET <key> <token> NX PX 60000` with a random token; released by a Lua compare-and-delete.
 * Unlike Dify 1.11, dify-ops renews it while migrating with a Lua compare-and-PEXPIRE, so it never expires under
 * a long migration and is never extended by anyone but its owner.
 */
export const DIFY_LOCK_TTL_MS = 60_000

const LUA_RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`
const LUA_RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`

export interface LockHolder {
  held: boolean
  /** remaining time to live in ms (null: held without expiry) */
  ttlMs: number | null
}

export interface RedisLockOptions {
  /** lock TTL (Dify: 60 s); shorter only in tests */
  ttlMs?: number
  /** renewal period while held (default ttl/3) */
  renewEveryMs?: number
}

export class RedisUpgradeLock {
  readonly key: string
  /** redis-py uses uuid1().hex: 32 hex characters */
  readonly token = randomUUID().replace(/-/g, '')
  readonly ttlMs: number
  readonly renewEveryMs: number
  #client: RedisHandle
  #timer?: NodeJS.Timeout
  #lost = false
  #lastRenewed = 0
  /** how many renewals succeeded (for tests and the result) */
  renewals = 0

  constructor(client: RedisHandle, keyPrefix: string, opts: RedisLockOptions = {}) {
    this.#client = client
    this.key = keys.dbUpgradeLock(keyPrefix)
    this.ttlMs = opts.ttlMs ?? DIFY_LOCK_TTL_MS
    this.renewEveryMs = opts.renewEveryMs ?? Math.max(50, Math.floor(this.ttlMs / 3))
  }

  /** One non-blocking attempt (redis-py `acquire(blocking=False)`). */
  async tryAcquire(): Promise<boolean> {
    const r = await this.#client.set(this.key, this.token, 'PX', this.ttlMs, 'NX')
    if (r !== 'OK') return false
    this.#lastRenewed = Date.now()
    this.#lost = false
    this.#timer = setInterval(() => void this.renew(), this.renewEveryMs)
    this.#timer.unref()
    return true
  }

  /** Extend the TTL only while the token is still ours; marks the lock lost otherwise. */
  async renew(): Promise<boolean> {
    if (this.#lost) return false
    try {
      const r = Number(await this.#client.eval(LUA_RENEW, 1, this.key, this.token, String(this.ttlMs)))
      if (r === 1) {
        this.#lastRenewed = Date.now()
        this.renewals++
        return true
      }
      this.#markLost()
      return false
    } catch {
      // a transient Redis error: the lock is only lost once its TTL has passed without a renewal
      if (Date.now() - this.#lastRenewed >= this.ttlMs) this.#markLost()
      return false
    }
  }

  #markLost() {
    this.#lost = true
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** True once a renewal found the key gone or owned by someone else. */
  get lost(): boolean {
    return this.#lost
  }

  /** Compare-and-delete; returns whether our token was still there. */
  async release(): Promise<boolean> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    try {
      return Number(await this.#client.eval(LUA_RELEASE, 1, this.key, this.token)) === 1
    } catch {
      return false
    }
  }
}

/** Who holds Dify's lock now, and for how long. */
export async function inspectRedisLock(client: RedisHandle, keyPrefix: string): Promise<LockHolder> {
  const ttl = await client.pttl(keys.dbUpgradeLock(keyPrefix))
  if (ttl === -2) return { held: false, ttlMs: null }
  return { held: true, ttlMs: ttl < 0 ? null : ttl }
}

/** Delete Dify's lock whoever holds it (`db lock clear`). Returns what was there. */
export async function clearRedisLock(client: RedisHandle, keyPrefix: string): Promise<LockHolder & { key: string }> {
  const key = keys.dbUpgradeLock(keyPrefix)
  const before = await inspectRedisLock(client, keyPrefix)
  if (before.held) await client.del(key)
  return { key, ...before }
}

/**
 * The database-level lock that serialises dify-ops runs even without Redis. PostgreSQL: a session advisory lock
 * (per database) on a dedicated connection; MySQL: GET_LOCK on a dedicated connection (lock names are
 * server-wide, so the database name is part of it). Both vanish with the connection when a process dies.
 * PGlite is embedded in one process: no lock is needed (or possible without blocking its single session).
 */
export const PG_ADVISORY_KEY = 7_235_426_947_825_627_251n // the ASCII bytes of "dify_ops" read as a bigint
export const MYSQL_LOCK_BASE = 'dify_ops_upgrade_db'

export function mysqlLockName(database: string): string {
  return `${MYSQL_LOCK_BASE}.${database}`.slice(0, 64)
}

/** Hold one pooled connection until release() (Kysely's connection() scope kept open). */
export async function pinConnection<DB>(
  kysely: Kysely<DB>,
): Promise<{ conn: Kysely<DB>; release: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    let done!: () => void
    const finished = new Promise<void>((r) => (done = r))
    let resolved = false
    const scope = kysely.connection().execute(async (conn) => {
      resolved = true
      resolve({
        conn,
        release: async () => {
          done()
          await scope.catch(() => {})
        },
      })
      await finished
    })
    scope.catch((e) => {
      if (!resolved) reject(e)
    })
  })
}

export class DbUpgradeLock {
  #db: Db
  #pinned?: { conn: Kysely<unknown>; release: () => Promise<void> }
  readonly kind: 'pg_advisory_lock' | 'GET_LOCK' | 'none'
  readonly name: string

  constructor(db: Db, database: string) {
    this.#db = db
    this.kind = db.type === 'pglite' ? 'none' : db.dialect === 'postgres' ? 'pg_advisory_lock' : 'GET_LOCK'
    this.name =
      this.kind === 'GET_LOCK'
        ? mysqlLockName(database)
        : this.kind === 'pg_advisory_lock'
          ? String(PG_ADVISORY_KEY)
          : ''
  }

  /** One non-blocking attempt. */
  async tryAcquire(): Promise<boolean> {
    if (this.kind === 'none') return true
    if (!this.#pinned) this.#pinned = await pinConnection(this.#db.kysely as unknown as Kysely<unknown>)
    const c = this.#pinned.conn
    const ok =
      this.kind === 'pg_advisory_lock'
        ? (
            await sql<{ ok: boolean }>`select pg_try_advisory_lock(${sql.raw(String(PG_ADVISORY_KEY))}) as ok`.execute(
              c,
            )
          ).rows[0]?.ok === true
        : Number((await sql<{ ok: number }>`select get_lock(${this.name}, 0) as ok`.execute(c)).rows[0]?.ok) === 1
    return ok
  }

  /**
   * The database on the lock's own session once acquired (the re-read, the pre-flight and the run use it: no second
   * connection to open, and its catalog caches are warm); the pool before that, and on PGlite.
   */
  session(): Db {
    return this.#pinned ? { ...this.#db, kysely: this.#pinned.conn as Db['kysely'] } : this.#db
  }

  async release(): Promise<void> {
    if (!this.#pinned) return
    const c = this.#pinned.conn
    try {
      if (this.kind === 'pg_advisory_lock')
        await sql`select pg_advisory_unlock(${sql.raw(String(PG_ADVISORY_KEY))})`.execute(c)
      else await sql`select release_lock(${this.name})`.execute(c)
    } catch {
      /* the connection is gone: so is the lock */
    }
    await this.#pinned.release()
    this.#pinned = undefined
  }
}

/** Is another session holding the database-level lock right now? (read-only) */
export async function inspectDbLock(db: Db, database: string): Promise<boolean | null> {
  if (db.type === 'pglite') return null
  if (db.dialect === 'postgres') {
    const hi = Number(PG_ADVISORY_KEY >> 32n)
    const lo = Number(PG_ADVISORY_KEY & 0xffffffffn)
    const r = await sql<{
      n: number
    }>`select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database()) and classid = ${hi} and objid = ${lo} and objsubid = 1 and granted`.execute(
      db.kysely,
    )
    return Number(r.rows[0]?.n ?? 0) > 0
  }
  const r = await sql<{ id: number | null }>`select is_used_lock(${mysqlLockName(database)}) as id`.execute(db.kysely)
  return r.rows[0]?.id !== null && r.rows[0]?.id !== undefined
}
