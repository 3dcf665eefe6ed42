/**
 * Where Dify keeps values encrypted with a tenant's RSA key (reference: dify-accounts-crypto-config.md §5, upstream
 * api/models/provider.py, tools.py, oauth.py, trigger.py, workflow.py, api/services/auth/api_key_auth_service.py,
 * api/services/api_based_extension_service.py). The one list every encryption command uses.
 *
 * format:
 * - `token`: the whole value is one encrypt_token string (base64 of a HYBRID: blob);
 * - `json`: a JSON document whose secret fields are encrypt_token strings (fields of schema type `secret-input`,
 *   `secret` workflow variables, `config.api_key`, OAuth tokens …). Which fields are secret is decided by plugin
 *   schemas Dify loads at run time, so dify-ops recognises the tokens by their form instead (see src/encryption/values.ts).
 *
 * Every table has `id` and `tenant_id`. Not tenant-key encrypted (so not here): tool_oauth_system_clients and
 * trigger_oauth_system_clients (SECRET_KEY AES), datasource_oauth_params.system_credentials and
 * data_source_oauth_bindings.access_token (plaintext), account_integrates.encrypted_token (always "").
 */
export interface EncryptedColumn {
  table: string
  column: string
  format: 'token' | 'json'
  /** the column may be NULL (nothing encrypted then) */
  nullable: boolean
}

export const TENANT_ENCRYPTED_COLUMNS: readonly EncryptedColumn[] = [
  { table: 'provider_credentials', column: 'encrypted_config', format: 'json', nullable: false },
  { table: 'provider_model_credentials', column: 'encrypted_config', format: 'json', nullable: false },
  { table: 'load_balancing_model_configs', column: 'encrypted_config', format: 'json', nullable: true },
  { table: 'tool_builtin_providers', column: 'encrypted_credentials', format: 'json', nullable: true },
  { table: 'tool_api_providers', column: 'credentials_str', format: 'json', nullable: false },
  { table: 'tool_mcp_providers', column: 'server_url', format: 'token', nullable: false },
  { table: 'tool_mcp_providers', column: 'encrypted_credentials', format: 'json', nullable: true },
  { table: 'tool_mcp_providers', column: 'encrypted_headers', format: 'json', nullable: true },
  { table: 'tool_oauth_tenant_clients', column: 'encrypted_oauth_params', format: 'json', nullable: false },
  { table: 'datasource_providers', column: 'encrypted_credentials', format: 'json', nullable: false },
  { table: 'datasource_oauth_tenant_params', column: 'client_params', format: 'json', nullable: false },
  { table: 'trigger_subscriptions', column: 'credentials', format: 'json', nullable: false },
  { table: 'trigger_subscriptions', column: 'properties', format: 'json', nullable: false },
  { table: 'trigger_oauth_tenant_clients', column: 'encrypted_oauth_params', format: 'json', nullable: false },
  { table: 'data_source_api_key_auth_bindings', column: 'credentials', format: 'json', nullable: true },
  { table: 'api_based_extensions', column: 'api_key', format: 'token', nullable: false },
  { table: 'workflows', column: 'environment_variables', format: 'json', nullable: false },
]

/**
 * What `reset-encrypt-key-pair` deletes for a tenant. Dify itself deletes the first two (api/commands.py); since the
 * multi-credential migrations (e8446f481c1e, 2025-08) the secrets live in the credential tables, which Dify leaves
 * behind as undecryptable orphans, so dify-ops deletes them too.
 */
export interface ResetDelete {
  table: string
  /** extra condition besides tenant_id (column = value) */
  where?: { column: string; value: string }
  /** deleted by Dify's own command too */
  dify: boolean
}

export const RESET_DELETES: readonly ResetDelete[] = [
  { table: 'providers', where: { column: 'provider_type', value: 'custom' }, dify: true },
  { table: 'provider_models', dify: true },
  { table: 'provider_credentials', dify: false },
  { table: 'provider_model_credentials', dify: false },
  { table: 'load_balancing_model_configs', dify: false },
]

/** tables whose encrypted columns a reset deletes (their secrets are gone, not "unreadable") */
export const RESET_DELETED_TABLES: ReadonlySet<string> = new Set(RESET_DELETES.map((d) => d.table))
