/**
 * Redis key formats Dify uses (reference: dify-accounts-crypto-config.md §2, §5, §6). Every key dify-ops reads or
 * writes is built here, so no key string appears twice in the code base. `prefix` is "" or "<REDIS_KEY_PREFIX>:".
 */
export const keys = {
  /** Dify's upgrade-db lock (redis-py Lock: SET NX PX, compare-and-delete release) */
  dbUpgradeLock: (prefix = '') => `${prefix}db_upgrade_lock`,
  loginErrorRateLimit: (email: string, prefix = '') => `${prefix}login_error_rate_limit:${email}`,
  accountRefreshToken: (accountId: string, prefix = '') => `${prefix}account_refresh_token:${accountId}`,
  refreshToken: (token: string, prefix = '') => `${prefix}refresh_token:${token}`,
  refreshTokenPattern: (prefix = '') => `${prefix}refresh_token:*`,
  /** the audit stream of dify-ops itself */
  auditStream: (prefix = '') => `${prefix}dify_ops:audit`,
} as const

/**
 * Celery / kombu keys in the broker DB (reference: celery-redis-wire.md §2, §4, §5). `prefix` is kombu's
 * global_keyprefix ("" or "<REDIS_KEY_PREFIX>:"); it prefixes key names and Pub/Sub channels, never set members or
 * hash fields. Priority sub-lists ("<queue>\x06\x16<n>") are built by `priorityListKey` in queues.ts.
 */
export const celeryKeys = {
  /** SET of routing entries "<routing_key>\x06\x16<pattern>\x06\x16<queue>" of one exchange */
  binding: (exchange: string, prefix = '') => `${prefix}_kombu.binding.${exchange}`,
  bindingPattern: (prefix = '') => `${globEscape(prefix)}_kombu.binding.*`,
  bindingPrefix: (prefix = '') => `${prefix}_kombu.binding.`,
  /** HASH delivery_tag -> JSON [envelope, exchange, routing_key] of every reserved/ETA message */
  unacked: (prefix = '') => `${prefix}unacked`,
  /** ZSET delivery_tag scored by the unix time it was delivered */
  unackedIndex: (prefix = '') => `${prefix}unacked_index`,
  /** kombu's restore lock (redis-py Lock: SET NX PX, compare-and-delete release) */
  unackedMutex: (prefix = '') => `${prefix}unacked_mutex`,
  /** result backend record (Dify ignores results, so usually absent) */
  taskMeta: (taskId: string, prefix = '') => `${prefix}celery-task-meta-${taskId}`,
  /** pidbox broadcast channel; Pub/Sub ignores SELECT, so the DB is in the name */
  pidboxChannel: (db: number, prefix = '') => `${prefix}/${db}.celery.pidbox`,
  /** exchange names of the remote-control mailbox */
  pidboxExchange: 'celery.pidbox',
  pidboxReplyExchange: 'reply.celery.pidbox',
  /** the client's reply queue (a LIST, plus its priority sub-lists) */
  pidboxReplyQueue: (oid: string) => `${oid}.reply.celery.pidbox`,
} as const

/** Escape Redis glob metacharacters so a literal prefix can start a MATCH pattern. */
export function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`)
}

/** Storage path of a tenant's private key. */
export const privateKeyPath = (tenantId: string) => `privkeys/${tenantId}/private.pem`
