import { createHash } from 'node:crypto'

/**
 * Redis key formats Dify uses (reference: dify-accounts-crypto-config.md §2, §5, §6). Every key dify-ops reads or
 * writes is built here, so no key string appears twice in the code base. `prefix` is "" or "<REDIS_KEY_PREFIX>:".
 */

/**
 * Per-email lock-out counters (string int, TTL = the matching *_LOCKOUT_DURATION; locked after 5 failures).
 * Source: api/services/account_service.py (AccountService.*_error_rate_limit helpers).
 */
export const LOCKOUT_COUNTERS = [
  'login_error_rate_limit',
  'forgot_password_error_rate_limit',
  'email_register_error_rate_limit',
  'change_email_error_rate_limit',
  'owner_transfer_error_rate_limit',
] as const
export type LockoutCounter = (typeof LOCKOUT_COUNTERS)[number]

/**
 * Per-email sliding-window rate limiters (ZSET of send times). Source: api/libs/helper.py RateLimiter and its
 * instances in api/services/account_service.py.
 */
export const RATE_LIMITERS = [
  'reset_password_rate_limit',
  'email_register_rate_limit',
  'email_code_login_rate_limit',
  'email_code_account_deletion_rate_limit',
  'change_email_rate_limit',
  'owner_transfer_rate_limit',
] as const
export type RateLimiter = (typeof RATE_LIMITERS)[number]

export type EmailKeyKind = LockoutCounter | RateLimiter

/**
 * Which counters / limiters each release writes (api/services/account_service.py at the tags; docs/accounts.md):
 * login and forgot-password from 1.0.0; change-email and owner-transfer from 1.7.0; email-register from 1.9.0.
 * The key format (`<kind>:<email>`, TTL, limit 5) is the same at every tag 1.0.0 … 1.15.0.
 */
export const LOCKOUT_COUNTERS_BY_RELEASE: ReadonlyArray<readonly [from: string, kinds: readonly LockoutCounter[]]> = [
  ['1.0.0', ['login_error_rate_limit', 'forgot_password_error_rate_limit']],
  [
    '1.7.0',
    [
      'login_error_rate_limit',
      'forgot_password_error_rate_limit',
      'change_email_error_rate_limit',
      'owner_transfer_error_rate_limit',
    ],
  ],
  ['1.9.0', [...LOCKOUT_COUNTERS]],
]
/** reset-password, email-code login and account-deletion limiters from 1.0.0; change-email, owner-transfer 1.7.0; email-register 1.9.0 */
export const RATE_LIMITERS_BY_RELEASE: ReadonlyArray<readonly [from: string, kinds: readonly RateLimiter[]]> = [
  ['1.0.0', ['reset_password_rate_limit', 'email_code_login_rate_limit', 'email_code_account_deletion_rate_limit']],
  [
    '1.7.0',
    [
      'reset_password_rate_limit',
      'email_code_login_rate_limit',
      'email_code_account_deletion_rate_limit',
      'change_email_rate_limit',
      'owner_transfer_rate_limit',
    ],
  ],
  ['1.9.0', [...RATE_LIMITERS]],
]

/** 1.14.1+: the storage object holding the SECRET_KEY Dify generated when SECRET_KEY is empty (api/configs/secret_key.py) */
export const GENERATED_SECRET_KEY_PATH = '.dify_secret_key'

export const keys = {
  /** Dify's upgrade-db lock (redis-py Lock: SET NX PX, compare-and-delete release) */
  dbUpgradeLock: (prefix = '') => `${prefix}db_upgrade_lock`,
  /** a per-email lock-out counter or rate limiter: `<kind>:<email>` */
  emailKey: (kind: EmailKeyKind, email: string, prefix = '') => `${prefix}${kind}:${email}`,
  /** SCAN pattern for the keys of `kind` whose email matches `emailGlob` (already a glob; see caseInsensitiveGlob) */
  emailKeyPattern: (kind: EmailKeyKind, emailGlob: string, prefix = '') => `${globEscape(prefix)}${kind}:${emailGlob}`,
  loginErrorRateLimit: (email: string, prefix = '') => keys.emailKey('login_error_rate_limit', email, prefix),
  /** value = the account's latest refresh token */
  accountRefreshToken: (accountId: string, prefix = '') => `${prefix}account_refresh_token:${accountId}`,
  /** value = the account id */
  refreshToken: (token: string, prefix = '') => `${prefix}refresh_token:${token}`,
  refreshTokenPattern: (prefix = '') => `${globEscape(prefix)}refresh_token:*`,
  /** 1.15.0: the 60 s cache of a resolved OAuth bearer token, by the sha256 hex of the token (api/libs/oauth_bearer.py) */
  oauthTokenCache: (tokenHash: string, prefix = '') => `${prefix}auth:token:${tokenHash}`,
  /**
   * Dify's 1-hour "vector collection exists" cache and the redis-py lock around a store's create_collection, per
   * store (docs/vector-stores.md "Redis keys"; same at 1.11.0 – 1.15.0): `vector_indexing_<name>`, lock
   * `vector_indexing_lock_<name>`, except pgvector's lock `vector_indexing_<name>_lock`; `<name>` is lower-cased
   * for opensearch (the keys lower it) and elasticsearch (its constructor lowers the index name).
   */
  vectorIndexing: (store: string, collection: string, prefix = '') =>
    `${prefix}vector_indexing_${vectorKeyName(store, collection)}`,
  vectorIndexingLock: (store: string, collection: string, prefix = '') =>
    store === 'pgvector'
      ? `${prefix}vector_indexing_${collection}_lock`
      : `${prefix}vector_indexing_lock_${vectorKeyName(store, collection)}`,
  /**
   * Dify's private-key cache (api/libs/rsa.py): `tenant_privkey:` + sha3_256(storage path) hex (SHA3-256 of FIPS 202,
   * not Keccak); the value is the private PEM, TTL 120 s.
   */
  tenantPrivkey: (tenantId: string, prefix = '') =>
    `${prefix}tenant_privkey:${createHash('sha3-256').update(privateKeyPath(tenantId), 'utf8').digest('hex')}`,
  /**
   * Caches of decrypted credentials of one tenant (§5 "Redis caches"): ProviderCredentialsCache
   * (`provider_`/`provider_model_`/`load_balancing_provider_model_credentials:tenant_id:{tid}:id:{id}`), tool caches
   * (`tool_credentials:tenant_id:{tid}:…`, singleton `{provider_type}_credentials:tenant_id:{tid}:…`) and trigger
   * caches (`trigger_credentials|trigger_properties|trigger_oauth_client:tenant_id:{tid}:…`). SCAN patterns.
   */
  tenantCredentialCachePatterns: (tenantId: string, prefix = '') => [
    `${globEscape(prefix)}*_credentials:tenant_id:${tenantId}:*`,
    `${globEscape(prefix)}trigger_*:tenant_id:${tenantId}:*`,
  ],
  providerCredentialsCache: (
    cacheType: 'provider' | 'provider_model' | 'load_balancing_provider_model',
    tenantId: string,
    id: string,
    prefix = '',
  ) => `${prefix}${cacheType}_credentials:tenant_id:${tenantId}:id:${id}`,
  toolCredentialsCache: (tenantId: string, provider: string, credentialId: string, prefix = '') =>
    `${prefix}tool_credentials:tenant_id:${tenantId}:provider:${provider}:credential_id:${credentialId}`,
  triggerCredentialsCache: (tenantId: string, providerId: string, subscriptionId: string, prefix = '') =>
    `${prefix}trigger_credentials:tenant_id:${tenantId}:provider_id:${providerId}:credential_id:${subscriptionId}`,
  triggerPropertiesCache: (tenantId: string, providerId: string, subscriptionId: string, prefix = '') =>
    `${prefix}trigger_properties:tenant_id:${tenantId}:provider_id:${providerId}:subscription_id:${subscriptionId}`,
  triggerOauthClientCache: (tenantId: string, providerId: string, prefix = '') =>
    `${prefix}trigger_oauth_client:tenant_id:${tenantId}:provider_id:${providerId}`,
  /** the audit stream of dify-ops itself */
  auditStream: (prefix = '') => `${prefix}dify_ops:audit`,
  /**
   * dify-ops: `vdb-migrate --checkpoint redis`, one HASH per unit (dataset or annotation app); field = the target
   * key (`<store type>@<location>`), value = the checkpoint as JSON. No TTL.
   */
  /**
   * dify-ops: one tenant's key-pair lock, held by `encryption rotate`, `reset-encrypt-key-pair` and
   * `encryption restore-key` while they change that tenant's key (value = a random token, PX 60 s, renewed).
   */
  encryptionTenantLock: (tenantId: string, prefix = '') => `${prefix}dify_ops:encryption_lock:${tenantId}`,
  vdbMigrateCheckpoint: (unitKind: 'dataset' | 'annotation', unitId: string, prefix = '') =>
    `${prefix}dify_ops:vdb_migrate:checkpoint:${unitKind}:${unitId}`,
} as const

/** The collection name as a store module puts it into its Redis keys. */
function vectorKeyName(store: string, collection: string): string {
  return store === 'opensearch' || store === 'elasticsearch' ? collection.toLowerCase() : collection
}

/** Escape Redis glob metacharacters so `text` matches itself only. */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\^]/g, (c) => `\\${c}`)
}

/**
 * A Redis glob matching `text` in any ASCII letter case ("Ops@x" → "[oO][pP][sS]@[xX]"). Redis globs compare
 * bytes, so a non-ASCII character that has case becomes `*`; callers filter the SCAN results exactly afterwards.
 */
export function caseInsensitiveGlob(text: string): string {
  let out = ''
  for (const ch of text) {
    const lo = ch.toLowerCase()
    const up = ch.toUpperCase()
    if (/^[a-zA-Z]$/.test(ch)) out += `[${lo}${up}]`
    else if (lo !== up) out += out.endsWith('*') ? '' : '*'
    else out += globEscape(ch)
  }
  return out
}

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

/** Storage path of a tenant's private key (api/libs/rsa.py). */
export const privateKeyPath = (tenantId: string) => `privkeys/${tenantId}/private.pem`
/** the root Dify keeps every tenant's private key under */
export const PRIVKEYS_PREFIX = 'privkeys/'
/** dify-ops: backup of a replaced private key, `<UTC timestamp>` like 20260128T031500Z */
export const privateKeyBackupPath = (tenantId: string, timestamp: string) =>
  `${privateKeyPath(tenantId)}.${timestamp}.bak`
/** dify-ops: the old private key kept while `encryption rotate` re-encrypts the tenant's secrets */
export const privateKeyPreviousPath = (tenantId: string) => `${privateKeyPath(tenantId)}.previous`
