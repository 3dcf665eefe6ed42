import { createHash } from 'node:crypto'

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
    `${prefix}*_credentials:tenant_id:${tenantId}:*`,
    `${prefix}trigger_*:tenant_id:${tenantId}:*`,
  ],
  providerCredentialsCache: (cacheType: 'provider' | 'provider_model' | 'load_balancing_provider_model', tenantId: string, id: string, prefix = '') =>
    `${prefix}${cacheType}_credentials:tenant_id:${tenantId}:id:${id}`,
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
} as const

/** Storage path of a tenant's private key (api/libs/rsa.py). */
export const privateKeyPath = (tenantId: string) => `privkeys/${tenantId}/private.pem`
/** the root Dify keeps every tenant's private key under */
export const PRIVKEYS_PREFIX = 'privkeys/'
/** dify-ops: backup of a replaced private key, `<UTC timestamp>` like 20260128T031500Z */
export const privateKeyBackupPath = (tenantId: string, timestamp: string) => `${privateKeyPath(tenantId)}.${timestamp}.bak`
/** dify-ops: the old private key kept while `encryption rotate` re-encrypts the tenant's secrets */
export const privateKeyPreviousPath = (tenantId: string) => `${privateKeyPath(tenantId)}.previous`
