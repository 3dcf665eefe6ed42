import type { Config } from '../config/schema.js'
import { ConfigError } from '../core/errors.js'
import { openDb } from './db.js'
import type { Db } from '../core/db.js'
import { openBroker, openRedis, type OpenedRedis } from './redis.js'
import { openStorage, type Storage } from './storage.js'
import { DEFAULT_LOCK_TIMEOUT_S, DEFAULT_STATEMENT_TIMEOUT_S, Guard, type Limits } from './faults.js'

/**
 * The connections of one command, opened lazily on first use and all closed by close(), so the process exits
 * promptly. Domain code receives what it needs from here; it never reads process.env.
 */
export class Runtime {
  readonly config: Config
  #db?: Promise<Db>
  #redis?: Promise<OpenedRedis>
  #broker?: Promise<OpenedRedis>
  #storage?: Promise<Storage>
  /** called once when the embedded PGlite default is opened (the CLI announces it on stderr) */
  onEmbeddedDb?: (dir: string) => void
  /** false under --dry-run: a missing embedded database is not created on disk */
  createEmbeddedDb: () => boolean = () => true
  /** writes done, connection faults, the interrupt: see src/runtime/faults.ts */
  readonly guard = new Guard()
  /** lock/statement timeouts of every database session and the per-round-trip deadline (set before first use) */
  limits: Limits

  constructor(config: Config, limits?: Partial<Limits>) {
    this.config = config
    this.limits = {
      lockTimeoutMs: DEFAULT_LOCK_TIMEOUT_S * 1000,
      statementTimeoutMs: DEFAULT_STATEMENT_TIMEOUT_S * 1000,
      commandTimeoutMs: config.commandTimeoutMs,
      ...limits,
    }
  }

  /** SIGINT: cancel the statements in flight on the server (they roll back) and refuse new ones except ROLLBACK. */
  interrupt(): Promise<void> {
    return this.guard.interrupt()
  }

  db(): Promise<Db> {
    if (!this.#db) {
      if (this.config.db.embedded) this.onEmbeddedDb?.(this.config.db.pgliteDir)
      this.#db = openDb(this.config.db, {
        connectTimeoutMs: this.config.connectTimeoutMs,
        createEmbedded: this.createEmbeddedDb(),
        limits: this.limits,
        guard: this.guard,
      })
      this.#db.catch(() => {})
    }
    return this.#db
  }

  redis(): Promise<OpenedRedis> {
    this.#redis ??= openRedis(this.config.redis, this.config.connectTimeoutMs, {
      guard: this.guard,
      commandTimeoutMs: this.limits.commandTimeoutMs,
    })
    this.#redis.catch(() => {})
    return this.#redis
  }

  broker(): Promise<OpenedRedis> {
    if (!this.#broker) {
      const b = this.config.broker
      if (!b) {
        return Promise.reject(
          new ConfigError('CELERY_BROKER_URL is not set.', {
            hint: 'Set CELERY_BROKER_URL as in the dify-api container, e.g. redis://:password@redis:6379/1.',
          }),
        )
      }
      this.#broker = openBroker(b, this.config.redis, this.config.connectTimeoutMs, {
        guard: this.guard,
        commandTimeoutMs: this.limits.commandTimeoutMs,
      })
      this.#broker.catch(() => {})
    }
    return this.#broker
  }

  storage(): Promise<Storage> {
    this.#storage ??= openStorage(this.config.storage)
    this.#storage.catch(() => {})
    return this.#storage
  }

  /** Has a connection of this kind been opened (successfully or not)? */
  opened(kind: 'db' | 'redis' | 'broker' | 'storage'): boolean {
    return { db: this.#db, redis: this.#redis, broker: this.#broker, storage: this.#storage }[kind] !== undefined
  }

  async close(): Promise<void> {
    const closing: Array<Promise<unknown>> = []
    for (const p of [this.#db, this.#redis, this.#broker]) {
      if (p) closing.push(p.then((c) => c.close()).catch(() => {}))
    }
    await Promise.all(closing)
    this.#db = this.#redis = this.#broker = this.#storage = undefined
  }
}
