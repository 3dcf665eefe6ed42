import { readFileSync } from 'node:fs'
import type { Redis as RedisClient, Cluster, RedisOptions } from 'ioredis'
import type { BrokerConfig, RedisConfig } from '../config/schema.js'
import { ConnectError, DifyOpsError } from '../cli/errors.js'

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

/** Open the app-cache Redis (REDIS_*), following Dify's order: sentinel, then cluster, then standalone. */
export async function openRedis(cfg: RedisConfig, timeoutMs: number): Promise<OpenedRedis> {
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
  await connectOrThrow(client, `Redis at ${describe}`, timeoutMs, 'Check REDIS_HOST, REDIS_PORT and REDIS_PASSWORD (or the Sentinel/Cluster settings).')
  return { client, keyPrefix: cfg.keyPrefix, describe, close: () => quit(client) }
}

/** Open the Celery broker from CELERY_BROKER_URL (its own DB index, usually 1). */
export async function openBroker(cfg: BrokerConfig, redisCfg: RedisConfig, timeoutMs: number): Promise<OpenedRedis> {
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

export function redisError(e: unknown, what: string, hint: string): DifyOpsError {
  const err = e as { code?: string; message?: string }
  const msg = err.message ?? String(e)
  const reason =
    err.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg) ? 'connection refused'
      : err.code === 'ENOTFOUND' || /ENOTFOUND|EAI_AGAIN/.test(msg) ? 'host not found'
        : err.code === 'ETIMEDOUT' || /timed? ?out/i.test(msg) ? 'timed out'
          : /NOAUTH|WRONGPASS|invalid password|AUTH/i.test(msg) ? 'authentication failed'
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
