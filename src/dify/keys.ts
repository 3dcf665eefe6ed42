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
  /** Dify's 1-hour "vector collection exists" cache (Vector.create / delete, every store module) */
  vectorIndexing: (collection: string, prefix = '') => `${prefix}vector_indexing_${collection}`,
  /** the redis-py lock around a store's create_collection */
  vectorIndexingLock: (collection: string, prefix = '') => `${prefix}vector_indexing_lock_${collection}`,
  /** the audit stream of dify-ops itself */
  auditStream: (prefix = '') => `${prefix}dify_ops:audit`,
} as const

/** Storage path of a tenant's private key. */
export const privateKeyPath = (tenantId: string) => `privkeys/${tenantId}/private.pem`
