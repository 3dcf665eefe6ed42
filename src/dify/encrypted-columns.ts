import { compareVersions } from './releases.js'

/**
 * Where Dify keeps values encrypted with a tenant's RSA key: the one list every encryption command uses. It comes from
 * an audit of every caller of `encrypter.encrypt_token` / `rsa.encrypt` / the provider config encrypters
 * (ProviderConfigEncrypter, create_provider_encrypter, create_tool_provider_encrypter, create_trigger_provider_*,
 * ToolParameterConfigurationManager.encrypt_tool_parameters, OpsTraceManager.encrypt_tracing_config) at the Dify tags
 * 1.0.0, 1.3.0, 1.6.0, 1.9.2, 1.10.1, 1.11.0, 1.11.2, 1.11.3, 1.12.0, 1.12.1, 1.13.0, 1.13.1, 1.14.0, 1.14.1, 1.15.0
 * (docs/encryption.md lists each caller).
 *
 * Which locations a database has is decided by introspection: a location is used when its table and column exist.
 * For this list that is equivalent to deciding by alembic revision (every location is a column that Dify writes in
 * exactly the releases whose schema has it; `since`/`until` record the releases, checked against each release's
 * schema) and it also covers a database between two releases. The one fact that is NOT a schema fact, what Dify's own
 * `reset-encrypt-key-pair` deletes, is decided by release in `resetDeletesFor` below.
 *
 * format:
 * - `token`: the whole value is one encrypt_token string (base64 of a HYBRID: blob, or a legacy bare RSA blob);
 * - `json`: a JSON document whose secret fields are encrypt_token strings (fields of schema type `secret-input`,
 *   `secret` workflow variables, `config.api_key`, OAuth tokens …). Which fields are secret is decided by plugin
 *   schemas Dify loads at run time, so dify-ops recognises the tokens by their form instead (src/encryption/values.ts);
 *   `shape` documents where Dify puts them;
 * - `json-or-token`: a JSON document, or, in the legacy "origin data" form Dify still reads (a value that does not
 *   start with `{`, api/core/provider_manager.py `_get_credentials`/`startswith("{")`), one bare token that Dify reads
 *   as `{"openai_api_key": <value>}`.
 *
 * Not tenant-key encrypted (so not here), checked at the same tags: tool_oauth_system_clients,
 * trigger_oauth_system_clients, datasource_oauth_params.system_credentials (SECRET_KEY AES,
 * core/tools/utils/system_oauth_encryption.py, 1.14+: system_encryption.py), data_source_oauth_bindings.access_token
 * and workflow graphs' tool_configurations (plaintext), account_integrates.encrypted_token (always ""),
 * tool_workflow_providers.parameter_configuration (no secrets), oauth_access_tokens (1.15.0: SHA-256 hash),
 * credential_permissions (1.15.0: no secret), apps.tracing (provider name only). Values a plugin asks Dify to encrypt
 * (core/plugin/backwards_invocation/encrypt.py, PluginEncrypter) are returned to the plugin daemon and stored outside
 * Dify's database: no command here can reach them.
 */
export interface EncryptedColumn {
  table: string
  column: string
  format: 'token' | 'json' | 'json-or-token'
  /** the column may be NULL (nothing encrypted then) */
  nullable: boolean
  /**
   * how a row's tenant is found: its own `tenant_id` (default), or the tenant of its app (`apps.tenant_id` through
   * `app_id`: the tables without a tenant_id column)
   */
  tenantVia?: 'app'
  /** where the tokens sit in the value, as Dify writes it */
  shape: string
  /** the Dify code that encrypts it (api/…, at 1.12.1) */
  writtenBy: string
  /** first release whose schema has the column; `until`: last one (absent: still in 1.15.0) */
  since: string
  until?: string
}

export const TENANT_ENCRYPTED_COLUMNS: readonly EncryptedColumn[] = [
  {
    table: 'providers',
    column: 'encrypted_config',
    format: 'json-or-token',
    nullable: true,
    since: '1.0.0',
    until: '1.7.2',
    shape:
      'JSON object, secret-input keys of the provider credential schema; legacy: the whole value is the OpenAI key token',
    writtenBy:
      'core/entities/provider_configuration.py (custom_credentials_validate / add_or_update_custom_credentials, 1.0.0–1.7.x); moved to provider_credentials by migration e8446f481c1e',
  },
  {
    table: 'provider_models',
    column: 'encrypted_config',
    format: 'json',
    nullable: true,
    since: '1.0.0',
    until: '1.7.2',
    shape: 'JSON object, secret-input keys of the model credential schema',
    writtenBy:
      'core/entities/provider_configuration.py (custom_model_credentials_validate, 1.0.0–1.7.x); moved to provider_model_credentials',
  },
  {
    table: 'provider_credentials',
    column: 'encrypted_config',
    format: 'json-or-token',
    nullable: false,
    since: '1.8.0',
    shape:
      'JSON object, secret-input keys of the provider credential schema; a legacy bare token copied by e8446f481c1e is read as {"openai_api_key": value}',
    writtenBy:
      'core/entities/provider_configuration.py validate_provider_credentials (encrypter.encrypt_token per secret key)',
  },
  {
    table: 'provider_model_credentials',
    column: 'encrypted_config',
    format: 'json',
    nullable: false,
    since: '1.8.0',
    shape: 'JSON object, secret-input keys of the model credential schema',
    writtenBy: 'core/entities/provider_configuration.py validate_custom_model_credentials',
  },
  {
    table: 'load_balancing_model_configs',
    column: 'encrypted_config',
    format: 'json',
    nullable: true,
    since: '1.0.0',
    shape: 'JSON object, secret-input keys of the model credential schema',
    writtenBy: 'services/model_load_balancing_service.py _custom_credentials_validate',
  },
  {
    table: 'tool_builtin_providers',
    column: 'encrypted_credentials',
    format: 'json',
    nullable: true,
    since: '1.0.0',
    shape: 'JSON object, secret-input keys of the tool credential schema (API key or OAuth credentials)',
    writtenBy:
      'services/tools/builtin_tools_manage_service.py (add/update_builtin_tool_provider), core/tools/tool_manager.py (OAuth refresh), via create_provider_encrypter',
  },
  {
    table: 'tool_api_providers',
    column: 'credentials_str',
    format: 'json',
    nullable: false,
    since: '1.0.0',
    shape: 'JSON object, key api_key_value (secret-input of the API tool auth schema)',
    writtenBy:
      'services/tools/api_tools_manage_service.py (create/update_api_tool_provider) via create_tool_provider_encrypter',
  },
  {
    table: 'tool_mcp_providers',
    column: 'server_url',
    format: 'token',
    nullable: false,
    since: '1.6.0',
    shape: 'whole value (server_url_hash is SHA-256 of the plaintext, so rotation keeps it)',
    writtenBy: 'services/tools/mcp_tools_manage_service.py (create/update_provider: encrypter.encrypt_token)',
  },
  {
    table: 'tool_mcp_providers',
    column: 'encrypted_credentials',
    format: 'json',
    nullable: true,
    since: '1.6.0',
    shape:
      'JSON object, nested: client_information.client_secret, tokens.access_token/refresh_token, client_secret (1.12: secret fields of the MCP OAuth data)',
    writtenBy:
      'services/tools/mcp_tools_manage_service.py (_build_and_encrypt_credentials, update_provider_credentials, save OAuth tokens) via ProviderConfigEncrypter',
  },
  {
    table: 'tool_mcp_providers',
    column: 'encrypted_headers',
    format: 'json',
    nullable: true,
    since: '1.9.0',
    shape: 'JSON object, every header value',
    writtenBy: 'services/tools/mcp_tools_manage_service.py _prepare_encrypted_dict via create_provider_encrypter',
  },
  {
    table: 'tool_oauth_tenant_clients',
    column: 'encrypted_oauth_params',
    format: 'json',
    nullable: false,
    since: '1.7.0',
    shape: 'JSON object, secret-input keys of the OAuth client schema (client_secret …)',
    writtenBy:
      'services/tools/builtin_tools_manage_service.py save_custom_oauth_client_params via create_provider_encrypter',
  },
  {
    table: 'datasource_providers',
    column: 'encrypted_credentials',
    format: 'json',
    nullable: false,
    since: '1.9.0',
    shape:
      'JSON object, secret-input keys of the datasource credential schema (integration_secret, OAuth access_token …)',
    writtenBy:
      'services/datasource_provider_service.py (encrypt_datasource_provider_credentials, add/update/reauthorize), commands.py transform_datasource_credentials (Notion integration_secret)',
  },
  {
    table: 'datasource_oauth_tenant_params',
    column: 'client_params',
    format: 'json',
    nullable: false,
    since: '1.9.0',
    shape: 'JSON object, secret-input keys of the OAuth client schema',
    writtenBy: 'services/datasource_provider_service.py setup_oauth_custom_client_params via create_provider_encrypter',
  },
  {
    table: 'trigger_subscriptions',
    column: 'credentials',
    format: 'json',
    nullable: false,
    since: '1.10.0',
    shape: 'JSON object, secret-input keys of the subscription credential schema (API key or OAuth tokens)',
    writtenBy:
      'services/trigger/trigger_provider_service.py (add/update/refresh subscription) via create_trigger_provider_encrypter_for_subscription',
  },
  {
    table: 'trigger_subscriptions',
    column: 'properties',
    format: 'json',
    nullable: false,
    since: '1.10.0',
    shape: 'JSON object, secret-input keys of the subscription properties schema (webhook secret …)',
    writtenBy: 'services/trigger/trigger_provider_service.py via create_trigger_provider_encrypter_for_properties',
  },
  {
    table: 'trigger_oauth_tenant_clients',
    column: 'encrypted_oauth_params',
    format: 'json',
    nullable: false,
    since: '1.10.0',
    shape: 'JSON object, secret-input keys of the OAuth client schema',
    writtenBy:
      'services/trigger/trigger_provider_service.py save_custom_oauth_client_params via create_provider_encrypter',
  },
  {
    table: 'data_source_api_key_auth_bindings',
    column: 'credentials',
    format: 'json',
    nullable: true,
    since: '1.0.0',
    shape: 'JSON object, nested path config.api_key',
    writtenBy: 'services/auth/api_key_auth_service.py create_provider_auth',
  },
  {
    table: 'api_based_extensions',
    column: 'api_key',
    format: 'token',
    nullable: false,
    since: '1.0.0',
    shape: 'whole value',
    writtenBy: 'services/api_based_extension_service.py save',
  },
  {
    table: 'workflows',
    column: 'environment_variables',
    format: 'json',
    nullable: false,
    since: '1.0.0',
    shape: 'JSON object name → variable; `value` of variables with value_type "secret"',
    writtenBy: 'models/workflow.py Workflow.environment_variables setter',
  },
  {
    table: 'trace_app_config',
    column: 'tracing_config',
    format: 'json',
    nullable: true,
    tenantVia: 'app',
    since: '1.0.0',
    shape:
      'JSON object, the secret_keys of the tracing provider (api_key, secret_key, public_key, …: OpsTraceProviderConfigMap); tenant = apps.tenant_id of app_id',
    writtenBy:
      'core/ops/ops_trace_manager.py OpsTraceManager.encrypt_tracing_config, called by services/ops_service.py (create/update_tracing_app_config)',
  },
  {
    table: 'app_model_configs',
    column: 'agent_mode',
    format: 'json',
    nullable: true,
    tenantVia: 'app',
    since: '1.0.0',
    shape:
      'JSON text, list tools[] → tool_parameters.<name> for parameters of form "form" and type "secret-input" (every saved config of the app, not only the current one); tenant = apps.tenant_id of app_id',
    writtenBy:
      'controllers/console/app/model_config.py (ToolParameterConfigurationManager.encrypt_tool_parameters, core/tools/utils/configuration.py)',
  },
]

/**
 * What `reset-encrypt-key-pair` deletes for a tenant. Dify deletes custom `providers` and every `provider_models` row
 * at every tag (api/commands.py; 1.14+: api/commands/system.py) and, from 1.14.2, also every `tool_builtin_providers`,
 * `tool_api_providers` and `tool_mcp_providers` row (#35396: tool-provider pages fail on stale ciphertext). Since the
 * multi-credential migrations (e8446f481c1e, 1.8.0) the model secrets live in the credential tables, which Dify leaves
 * behind as undecryptable orphans, so dify-ops deletes them too.
 */
export interface ResetDelete {
  table: string
  /** extra condition besides tenant_id (column = value) */
  where?: { column: string; value: string }
  /** deleted by Dify's own command too */
  dify: boolean
}

const RESET_DELETES_ALWAYS: readonly ResetDelete[] = [
  { table: 'providers', where: { column: 'provider_type', value: 'custom' }, dify: true },
  { table: 'provider_models', dify: true },
  { table: 'provider_credentials', dify: false },
  { table: 'provider_model_credentials', dify: false },
  { table: 'load_balancing_model_configs', dify: false },
]

/** deleted by Dify's command from 1.14.2 (api/commands/system.py; not in 1.14.1) */
const RESET_DELETES_TOOLS: readonly ResetDelete[] = [
  { table: 'tool_builtin_providers', dify: true },
  { table: 'tool_api_providers', dify: true },
  { table: 'tool_mcp_providers', dify: true },
]

/** the release from which Dify's reset deletes the tool providers: 1.14.2 (same schema head as 1.14.1, see docs) */
export const RESET_DELETES_TOOLS_FROM = '1.14.1'

/**
 * What a reset deletes on a database of this Dify version (profile.version: the first release containing its
 * revision). 1.14.1 and 1.14.2 share the schema head a4f2d8c9b731 and cannot be told apart, so a database at that
 * head is treated like 1.14.2 (the tool-provider rows' secrets are unreadable after a reset either way). An unknown
 * version (null) keeps the tool providers.
 */
export function resetDeletesFor(version: string | null): readonly ResetDelete[] {
  if (version && compareVersions(version, RESET_DELETES_TOOLS_FROM) >= 0)
    return [...RESET_DELETES_ALWAYS, ...RESET_DELETES_TOOLS]
  return RESET_DELETES_ALWAYS
}

/** every table that some release's reset may delete from */
export const RESET_DELETES: readonly ResetDelete[] = [...RESET_DELETES_ALWAYS, ...RESET_DELETES_TOOLS]
