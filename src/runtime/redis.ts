import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import type { Redis as RedisClient, Cluster, RedisOptions } from 'ioredis'
import type { BrokerConfig, RedisConfig } from '../config/schema.js'
import { ConfigError, ConnectError, DifyOpsError } from '../core/errors.js'
import { DeadlineError, faultOf, isConnectionLoss, type Guard, type Service } from './faults.js'

/** What every Redis connection of a command runs with: a deadline per command, fault and write bookkeeping. */
export interface RedisGuardOptions {
  guard?: Guard
  /** DIFY_OPS_COMMAND_TIMEOUT in ms (0 = none); blocking commands get their own block time on top */
  commandTimeoutMs?: number
}

export type RedisHandle = RedisClient | Cluster

export interface OpenedRedis {
  client: RedisHandle
  /** "" or "<prefix>:" applied to every key we read or write */
  keyPrefix: string
  describe: string
  close(): Promise<void>
}

function tlsOptions(cfg: RedisConfig): RedisOptions['tls'] {
  if (!cfg.tls) return undefined
  return {
    rejectUnauthorized: cfg.tls.certReqs === 'CERT_REQUIRED',
    ca: cfg.tls.ca ? readFileSync(cfg.tls.ca) : undefined,
    cert: cfg.tls.cert ? readFileSync(cfg.tls.cert) : undefined,
    key: cfg.tls.key ? readFileSync(cfg.tls.key) : undefined,
  }
}

const failFast = (timeoutMs: number): RedisOptions => ({
  lazyConnect: true,
  connectTimeout: timeoutMs,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: true,
  retryStrategy: () => null,
  // Sentinel discovery gives up instead of retrying forever
  sentinelRetryStrategy: () => null,
})

/**
 * ioredis's classes, whether the package is loaded by Node (named CommonJS exports) or bundled into dist/ by
 * esbuild (scripts/build.mjs), where a lazily imported CommonJS chunk exposes module.exports as `default` only.
 */
async function ioredis(): Promise<Pick<typeof import('ioredis'), 'Redis' | 'Cluster'>> {
  const m = (await import('ioredis')) as typeof import('ioredis') & { default: typeof import('ioredis') }
  return m.Redis ? m : m.default
}

/**
 * Load the Redis driver now, without connecting (nothing else changes: no connection, no audit target), when the
 * process would otherwise idle; the later openRedis finds it loaded. A failure surfaces there, not here. Also has
 * Node check the host's address form once: for a host name (`redis`, `localhost`) that compiles Node's IPv6
 * pattern, ~14 ms on a 2-core machine, which the connect would otherwise pay.
 */
export function preloadRedisDriver(cfg: Pick<RedisConfig, 'host'>): void {
  isIP(cfg.host)
  ioredis().catch(() => {})
}

/** Open the app-cache Redis (REDIS_*), following Dify's order: sentinel, then cluster, then standalone. */
export async function openRedis(cfg: RedisConfig, timeoutMs: number, g: RedisGuardOptions = {}): Promise<OpenedRedis> {
  const { Redis, Cluster } = await ioredis()
  let client: RedisHandle
  let describe: string
  if (cfg.mode === 'sentinel') {
    describe = `sentinel ${cfg.sentinels.map((h) => `${h.host}:${h.port}`).join(',')} (master ${cfg.sentinelName})`
    client = new Redis({
      ...failFast(timeoutMs),
      sentinels: cfg.sentinels,
      name: cfg.sentinelName,
      sentinelUsername: cfg.sentinelUsername,
      sentinelPassword: cfg.sentinelPassword,
      username: cfg.username,
      password: cfg.password,
      db: cfg.db,
    })
  } else if (cfg.mode === 'cluster') {
    describe = `cluster ${cfg.clusters.map((h) => `${h.host}:${h.port}`).join(',')}`
    client = new Cluster(cfg.clusters, {
      lazyConnect: true,
      clusterRetryStrategy: () => null,
      redisOptions: { ...failFast(timeoutMs), password: cfg.clusterPassword },
    })
  } else {
    describe = `${cfg.host}:${cfg.port}/${cfg.db}`
    client = new Redis({
      ...failFast(timeoutMs),
      host: cfg.host,
      port: cfg.port,
      username: cfg.username,
      password: cfg.password,
      db: cfg.db,
      tls: tlsOptions(cfg),
    })
  }
  await connectOrThrow(
    client,
    `Redis at ${describe}`,
    timeoutMs,
    'Check REDIS_HOST, REDIS_PORT and REDIS_PASSWORD (or the Sentinel/Cluster settings).',
  )
  if (cfg.mode !== 'cluster')
    await selectOrThrow(
      client as RedisClient,
      cfg.db,
      `REDIS_DB=${cfg.db}`,
      `Redis at ${describe}`,
      'Set REDIS_DB to a database index this server has (0 to its "databases" setting minus 1; Dify\'s default is 0).',
    )
  guardRedis(client, 'Redis', g)
  return { client, keyPrefix: cfg.keyPrefix, describe, close: () => quit(client) }
}

/** Open the Celery broker from CELERY_BROKER_URL (its own DB index, usually 1). */
export async function openBroker(
  cfg: BrokerConfig,
  redisCfg: RedisConfig,
  timeoutMs: number,
  g: RedisGuardOptions = {},
): Promise<OpenedRedis> {
  const { Redis } = await ioredis()
  let client: RedisClient
  if (cfg.kind === 'sentinel') {
    client = new Redis({
      ...failFast(timeoutMs),
      sentinels: cfg.hosts,
      name: cfg.masterName,
      sentinelPassword: cfg.sentinelPassword,
      username: cfg.username,
      password: cfg.password,
      db: cfg.db,
    })
  } else {
    const h = cfg.hosts[0]!
    client = new Redis({
      ...failFast(timeoutMs),
      host: h.host,
      port: h.port,
      username: cfg.username,
      password: cfg.password,
      db: cfg.db,
      tls: cfg.tls ? (tlsOptions({ ...redisCfg, tls: redisCfg.tls ?? { certReqs: 'CERT_NONE' } }) ?? {}) : undefined,
    })
  }
  await connectOrThrow(client, `the Celery broker at ${cfg.display}`, timeoutMs, 'Check CELERY_BROKER_URL.')
  await selectOrThrow(
    client,
    cfg.db,
    `the database index ${cfg.db} of CELERY_BROKER_URL`,
    `the Celery broker at ${cfg.display}`,
    'Fix the /DB part of CELERY_BROKER_URL (Dify uses 1): an index this server has.',
  )
  guardRedis(client, 'Celery broker', g)
  return { client, keyPrefix: cfg.keyPrefix, describe: cfg.display, close: () => quit(client) }
}

async function connectOrThrow(client: RedisHandle, what: string, timeoutMs: number, hint: string): Promise<void> {
  let lastError: unknown
  client.on('error', (e) => (lastError = e)) // the socket-level cause; surfaced below
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      (async () => {
        await client.connect()
        await client.ping()
      })(),
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs)
      }),
    ])
  } catch (e) {
    client.disconnect()
    const msg = (e as Error)?.message ?? ''
    throw redisError(lastError && /Connection is closed|timed out/.test(msg) ? lastError : e, what, hint)
  } finally {
    if (timer) clearTimeout(timer)
  }
}

/**
 * ioredis reports a failed SELECT (a DB index beyond the server's "databases") only as an 'error' event and then
 * goes on in DB 0. Select explicitly and refuse: exit 4 naming the variable.
 */
async function selectOrThrow(
  client: RedisClient,
  db: number,
  what: string,
  where: string,
  hint: string,
): Promise<void> {
  if (!db) return
  try {
    await client.select(db)
  } catch (e) {
    client.disconnect()
    const reason = ((e as Error)?.message ?? String(e)).split('\n')[0]
    throw new ConfigError(`${capitalise(what)} is not usable on ${where}: ${reason}.`, {
      hint,
      details: { variable: what.includes('CELERY') ? 'CELERY_BROKER_URL' : 'REDIS_DB', db },
      cause: e,
    })
  }
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

/** Commands that change nothing (everything else counts as a write once acknowledged). */
const READ_ONLY = new Set(
  'ping echo info select auth hello client get mget exists ttl pttl expiretime pexpiretime type scan sscan hscan zscan keys lrange llen lindex lpos hget hgetall hmget hlen hkeys hvals hexists hstrlen smembers scard sismember smismember srandmember zrange zrangebyscore zrevrange zrevrangebyscore zcard zscore zmscore zcount zrank zrevrank xrange xrevrange xlen xinfo strlen getrange dbsize time memory object config command quit role cluster sentinel dump pubsub subscribe psubscribe unsubscribe punsubscribe readonly bitcount getbit randomkey touch script slowlog lastsave wait'.split(
    ' ',
  ),
)
const BLOCKING = new Set(['brpop', 'blpop', 'brpoplpush', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop'])

/** How long a blocking command may block by its own arguments (ms); 0 = forever; undefined = not blocking. */
function blockMs(name: string, args: unknown[]): number | undefined {
  if (BLOCKING.has(name)) {
    const i = name === 'blmpop' || name === 'bzmpop' ? 0 : args.length - 1
    const s = Number(String(args[i] ?? '0'))
    return Number.isFinite(s) ? s * 1000 : 0
  }
  if (name === 'xread' || name === 'xreadgroup') {
    const i = args.findIndex((a) => String(a).toLowerCase() === 'block')
    if (i >= 0) return Number(String(args[i + 1] ?? '0')) || 0
  }
  return undefined
}

/** Taking, renewing or releasing a lock of our own (db_upgrade_lock, a mutex) changes nothing the operator asked for. */
function isLockBookkeeping(name: string, args: unknown[]): boolean {
  const key = String((name === 'eval' || name === 'evalsha' ? args[2] : args[0]) ?? '')
  return /(lock|mutex)$/i.test(key)
}

interface CommandLike {
  name: string
  args: unknown[]
  promise: Promise<unknown>
  isResolved: boolean
  reject(e: Error): void
}

/**
 * A deadline on every command of this client (DIFY_OPS_COMMAND_TIMEOUT; a blocking command gets its block time on
 * top, so BRPOP replies and streaming reads are not cut): on expiry the command fails, the fault is noted and the
 * client is disconnected, so the commands after it fail at once instead of each waiting again.
 */
function guardRedis(client: RedisHandle, service: Service, g: RedisGuardOptions): void {
  const { guard } = g
  const ms = g.commandTimeoutMs ?? 0
  const target = client as unknown as { sendCommand: (c: CommandLike, ...rest: unknown[]) => unknown }
  const orig = target.sendCommand.bind(client)
  target.sendCommand = (command: CommandLike, ...rest: unknown[]) => {
    const name = String(command.name).toLowerCase()
    const block = blockMs(name, command.args)
    const limit = ms > 0 && block !== 0 ? ms + (block ?? 0) : 0
    let timer: NodeJS.Timeout | undefined
    if (limit > 0 && !command.isResolved) {
      timer = setTimeout(() => {
        if (command.isResolved) return
        const d = new DeadlineError(service, limit, name)
        guard?.noteFault({ service, kind: 'deadline', reason: d.message })
        command.reject(d)
        // end the socket at once (a FIN to a frozen server is never answered), so later commands fail immediately
        client.disconnect()
        ;(client as unknown as { stream?: { destroy(): void } }).stream?.destroy()
      }, limit)
    }
    command.promise.then(
      () => {
        if (timer) clearTimeout(timer)
        if (guard && !READ_ONLY.has(name) && !isLockBookkeeping(name, command.args)) guard.writes.redis++
      },
      (e: unknown) => {
        if (timer) clearTimeout(timer)
        if (guard && e && typeof e === 'object' && !(e instanceof DeadlineError) && isConnectionLoss(e as Error))
          guard.noteFault(faultOf(e as Error, service))
      },
    )
    return orig(command, ...rest)
  }
}

export function redisError(e: unknown, what: string, hint: string): DifyOpsError {
  const err = e as { code?: string; message?: string }
  const msg = err.message ?? String(e)
  const reason =
    err.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)
      ? 'connection refused'
      : err.code === 'ENOTFOUND' || /ENOTFOUND|EAI_AGAIN/.test(msg)
        ? 'host not found'
        : err.code === 'ETIMEDOUT' || /timed? ?out/i.test(msg)
          ? 'timed out'
          : /NOAUTH|WRONGPASS|invalid password|AUTH/i.test(msg)
            ? 'authentication failed'
            : msg.split('\n')[0]!
  return new ConnectError(`Cannot connect to ${what}: ${reason}.`, { hint, cause: e })
}

async function quit(client: RedisHandle): Promise<void> {
  try {
    if (client.status === 'ready') await client.quit()
    else client.disconnect()
  } catch {
    client.disconnect()
  }
}
