/**
 * Seeds tenants whose secrets sit in every tenant-key-encrypted column of §5 (src/dify/encrypted-columns.ts), the
 * way Dify writes them (Python json.dumps spacing, encrypt_token values), with private keys in storage.
 * Returns what was written so tests can prove every secret still decrypts to its old value.
 */
import { randomUUID, createHash } from 'node:crypto'
import { encryptToken as ourEncrypt, generateTenantKeyPair, type TenantKeyPair } from '../../src/crypto/tenant-key.js'
import { privateKeyPath } from '../../src/dify/keys.js'

export interface SeedSink {
  dialect: 'postgres' | 'mysql'
  /** insert rows (all with the same columns) into a table */
  insert(table: string, rows: Array<Record<string, unknown>>): Promise<void>
}

export interface SeededSecret {
  table: string
  column: string
  id: string
  tenantId: string
  plaintext: string
}

export interface SeededTenant {
  id: string
  keys: TenantKeyPair
  secrets: SeededSecret[]
}

/** Python's json.dumps (', ' and ': ' separators, ensure_ascii) for our simple values */
export function pyJson(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return '[' + v.map(pyJson).join(', ') + ']'
  if (typeof v === 'object')
    return (
      '{' +
      Object.entries(v as object)
        .map(([k, x]) => `${pyJson(k)}: ${pyJson(x)}`)
        .join(', ') +
      '}'
    )
  if (typeof v === 'string')
    return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
  return JSON.stringify(v)
}

const NOW = '2026-01-01 00:00:00'

/**
 * Build and insert `count` tenants with 20 secrets each (15 tables, 17 columns). `sharedKey` gives every tenant the
 * same key pair (fast seeding for the benchmark); otherwise each gets its own.
 */
export async function seedTenants(
  sink: SeedSink,
  writeKey: (path: string, pem: string) => Promise<void>,
  opts: {
    count: number
    sharedKey?: TenantKeyPair
    namePrefix?: string
    /** make the key pairs and tokens another way (PyCryptodome in the interop tests) */
    generate?: () => Promise<TenantKeyPair>
    encrypt?: (plaintext: string, publicPem: string) => string
  },
): Promise<SeededTenant[]> {
  const encryptToken = opts.encrypt ?? ourEncrypt
  const tenants: SeededTenant[] = []
  const rows = new Map<string, Array<Record<string, unknown>>>()
  const add = (table: string, row: Record<string, unknown>) => {
    if (!rows.has(table)) rows.set(table, [])
    rows.get(table)!.push(row)
  }
  const keyPairs = opts.sharedKey
    ? []
    : await Promise.all(Array.from({ length: opts.count }, () => (opts.generate ?? generateTenantKeyPair)()))
  for (let n = 0; n < opts.count; n++) {
    const tid = randomUUID()
    const kp = opts.sharedKey ?? keyPairs[n]!
    const secrets: SeededSecret[] = []
    const tok = (table: string, column: string, id: string, label: string) => {
      const plaintext = `${label}-${tid.slice(0, 8)}-${n}-sécret`
      secrets.push({ table, column, id, tenantId: tid, plaintext })
      return encryptToken(plaintext, kp.publicPem)
    }
    const user = randomUUID()
    add('tenants', {
      id: tid,
      name: `${opts.namePrefix ?? 'ws'} ${n}`,
      encrypt_public_key: kp.publicPem,
      created_at: NOW,
      updated_at: NOW,
    })
    const credId = randomUUID()
    add('provider_credentials', {
      id: credId,
      tenant_id: tid,
      provider_name: 'langgenius/openai/openai',
      credential_name: 'API KEY 1',
      encrypted_config: pyJson({
        openai_api_key: tok('provider_credentials', 'encrypted_config', credId, 'sk-openai'),
        openai_organization: 'org-ünïcode',
        openai_api_base: tok('provider_credentials', 'encrypted_config', credId, 'base'),
      }),
      created_at: NOW,
      updated_at: NOW,
    })
    add('providers', {
      id: randomUUID(),
      tenant_id: tid,
      provider_name: 'langgenius/openai/openai',
      provider_type: 'custom',
      is_valid: true,
      credential_id: credId,
      created_at: NOW,
      updated_at: NOW,
    })
    add('providers', {
      id: randomUUID(),
      tenant_id: tid,
      provider_name: 'langgenius/anthropic/anthropic',
      provider_type: 'system',
      is_valid: true,
      credential_id: null,
      created_at: NOW,
      updated_at: NOW,
    })
    const pmcId = randomUUID()
    add('provider_model_credentials', {
      id: pmcId,
      tenant_id: tid,
      provider_name: 'langgenius/azure_openai/azure_openai',
      model_name: 'gpt-4o',
      model_type: 'llm',
      credential_name: 'Azure 1',
      encrypted_config: pyJson({
        openai_api_key: tok('provider_model_credentials', 'encrypted_config', pmcId, 'azure-key'),
        openai_api_base: 'https://x.openai.azure.com',
        secondary_key: tok('provider_model_credentials', 'encrypted_config', pmcId, 'azure-2'),
        base_model_name: 'gpt-4o',
      }),
      created_at: NOW,
      updated_at: NOW,
    })
    add('provider_models', {
      id: randomUUID(),
      tenant_id: tid,
      provider_name: 'langgenius/azure_openai/azure_openai',
      model_name: 'gpt-4o',
      model_type: 'llm',
      is_valid: true,
      credential_id: pmcId,
      created_at: NOW,
      updated_at: NOW,
    })
    const lbId = randomUUID()
    add('load_balancing_model_configs', {
      id: lbId,
      tenant_id: tid,
      provider_name: 'langgenius/openai/openai',
      model_name: 'gpt-4o',
      model_type: 'llm',
      name: 'lb 1',
      encrypted_config: pyJson({
        openai_api_key: tok('load_balancing_model_configs', 'encrypted_config', lbId, 'lb-key'),
      }),
      enabled: true,
      credential_id: null,
      credential_source_type: null,
      created_at: NOW,
      updated_at: NOW,
    })
    const tbId = randomUUID()
    add('tool_builtin_providers', {
      id: tbId,
      tenant_id: tid,
      user_id: user,
      provider: 'langgenius/google/google',
      name: 'API KEY 1',
      is_default: true,
      credential_type: 'api-key',
      expires_at: -1,
      encrypted_credentials: pyJson({
        serpapi_api_key: tok('tool_builtin_providers', 'encrypted_credentials', tbId, 'serp'),
      }),
      created_at: NOW,
      updated_at: NOW,
    })
    const taId = randomUUID()
    add('tool_api_providers', {
      id: taId,
      name: `api tool ${n}`,
      schema: '{}',
      schema_type_str: 'openapi',
      user_id: user,
      tenant_id: tid,
      tools_str: '[]',
      icon: '{}',
      credentials_str: pyJson({
        auth_type: 'api_key',
        api_key_header: 'Authorization',
        api_key_value: tok('tool_api_providers', 'credentials_str', taId, 'apitool'),
        api_key_header_prefix: 'bearer',
      }),
      description: 'd',
      privacy_policy: '',
      custom_disclaimer: '',
      created_at: NOW,
      updated_at: NOW,
    })
    const mcpId = randomUUID()
    const url = `https://mcp.example.com/${tid}/sse`
    add('tool_mcp_providers', {
      id: mcpId,
      name: `mcp ${n}`,
      server_identifier: `mcp-${n}`,
      server_url: encryptToken(url, kp.publicPem),
      server_url_hash: createHash('sha256').update(url).digest('hex'),
      icon: '',
      tenant_id: tid,
      user_id: user,
      authed: true,
      tools: '[]',
      timeout: 30,
      sse_read_timeout: 300,
      encrypted_credentials: pyJson({
        client_information: {
          client_id: 'cid',
          client_secret: tok('tool_mcp_providers', 'encrypted_credentials', mcpId, 'mcp-client'),
        },
        tokens: { token_type: 'Bearer', expires_in: 3600 },
      }),
      encrypted_headers: pyJson({ Authorization: tok('tool_mcp_providers', 'encrypted_headers', mcpId, 'Bearer mcp') }),
      created_at: NOW,
      updated_at: NOW,
    })
    secrets.push({ table: 'tool_mcp_providers', column: 'server_url', id: mcpId, tenantId: tid, plaintext: url })
    const toId = randomUUID()
    add('tool_oauth_tenant_clients', {
      id: toId,
      tenant_id: tid,
      plugin_id: 'langgenius/github',
      provider: 'github',
      enabled: true,
      encrypted_oauth_params: pyJson({
        client_id: 'gh-client',
        client_secret: tok('tool_oauth_tenant_clients', 'encrypted_oauth_params', toId, 'gh-secret'),
      }),
    })
    const dsId = randomUUID()
    add('datasource_providers', {
      id: dsId,
      tenant_id: tid,
      name: 'notion 1',
      provider: 'notion_datasource',
      plugin_id: 'langgenius/notion_datasource',
      auth_type: 'api_key',
      encrypted_credentials: pyJson({
        integration_secret: tok('datasource_providers', 'encrypted_credentials', dsId, 'notion'),
        workspace_name: 'WS',
      }),
      avatar_url: null,
      is_default: true,
      expires_at: -1,
      created_at: NOW,
      updated_at: NOW,
    })
    const dopId = randomUUID()
    add('datasource_oauth_tenant_params', {
      id: dopId,
      tenant_id: tid,
      provider: 'notion_datasource',
      plugin_id: 'langgenius/notion_datasource',
      enabled: true,
      client_params: pyJson({
        client_id: 'n',
        client_secret: tok('datasource_oauth_tenant_params', 'client_params', dopId, 'notion-oauth'),
      }),
      created_at: NOW,
      updated_at: NOW,
    })
    const tsId = randomUUID()
    add('trigger_subscriptions', {
      id: tsId,
      name: `sub ${n}`,
      tenant_id: tid,
      user_id: user,
      provider_id: 'langgenius/github_trigger/github',
      endpoint_id: randomUUID(),
      parameters: '{}',
      properties: pyJson({
        webhook_secret: tok('trigger_subscriptions', 'properties', tsId, 'whsec'),
        repository: 'a/b',
      }),
      credentials: pyJson({ access_token: tok('trigger_subscriptions', 'credentials', tsId, 'gho') }),
      credential_type: 'api-key',
      credential_expires_at: -1,
      expires_at: -1,
      created_at: NOW,
      updated_at: NOW,
    })
    const tocId = randomUUID()
    add('trigger_oauth_tenant_clients', {
      id: tocId,
      tenant_id: tid,
      plugin_id: 'langgenius/github_trigger',
      provider: 'github',
      enabled: true,
      encrypted_oauth_params: pyJson({
        client_id: 'c',
        client_secret: tok('trigger_oauth_tenant_clients', 'encrypted_oauth_params', tocId, 'trig-oauth'),
      }),
      created_at: NOW,
      updated_at: NOW,
    })
    const akId = randomUUID()
    add('data_source_api_key_auth_bindings', {
      id: akId,
      tenant_id: tid,
      category: 'website',
      provider: 'firecrawl',
      credentials: pyJson({
        auth_type: 'bearer',
        config: {
          api_key: tok('data_source_api_key_auth_bindings', 'credentials', akId, 'fc'),
          base_url: 'https://api.firecrawl.dev',
        },
      }),
      disabled: false,
      created_at: NOW,
      updated_at: NOW,
    })
    const extId = randomUUID()
    add('api_based_extensions', {
      id: extId,
      tenant_id: tid,
      name: `ext ${n}`,
      api_endpoint: 'https://ext.example.com',
      api_key: tok('api_based_extensions', 'api_key', extId, 'ext-key'),
      created_at: NOW,
    })
    const wfId = randomUUID()
    const v1 = randomUUID()
    const v2 = randomUUID()
    const v3 = randomUUID()
    add('workflows', {
      id: wfId,
      tenant_id: tid,
      app_id: randomUUID(),
      type: 'workflow',
      version: 'draft',
      graph: '{}',
      features: '{}',
      created_by: user,
      created_at: NOW,
      updated_at: NOW,
      environment_variables: pyJson({
        API_TOKEN: {
          id: v1,
          name: 'API_TOKEN',
          description: '',
          value_type: 'secret',
          value: tok('workflows', 'environment_variables', wfId, 'env1'),
          selector: ['env', 'API_TOKEN'],
        },
        OTHER_SECRET: {
          id: v2,
          name: 'OTHER_SECRET',
          description: '',
          value_type: 'secret',
          value: tok('workflows', 'environment_variables', wfId, 'env2'),
          selector: ['env', 'OTHER_SECRET'],
        },
        REGION: {
          id: v3,
          name: 'REGION',
          description: 'plain ü',
          value_type: 'string',
          value: 'eu-west-1',
          selector: ['env', 'REGION'],
        },
      }),
      conversation_variables: '{}',
      rag_pipeline_variables: '{}',
      marked_name: '',
      marked_comment: '',
    })
    tenants.push({ id: tid, keys: kp, secrets })
  }
  // tenants first (nothing references them by FK, but keep the natural order)
  for (const [table, list] of rows) {
    for (let i = 0; i < list.length; i += 200) await sink.insert(table, list.slice(i, i + 200))
  }
  for (const t of tenants) await writeKey(privateKeyPath(t.id), t.keys.privatePem)
  return tenants
}

/** A SeedSink on a pg.Client-like object */
export function pgSink(client: { query(sql: string, params?: unknown[]): Promise<unknown> }): SeedSink {
  return {
    dialect: 'postgres',
    async insert(table, list) {
      const cols = Object.keys(list[0]!)
      const params: unknown[] = []
      const values = list.map((r) => '(' + cols.map((c) => (params.push(r[c]), `$${params.length}`)).join(', ') + ')')
      await client.query(
        `insert into ${table} (${cols.map((c) => `"${c}"`).join(', ')}) values ${values.join(', ')}`,
        params,
      )
    },
  }
}

/** A SeedSink on a mysql2/promise connection */
export function mysqlSink(conn: { query(sql: string, params?: unknown[]): Promise<unknown> }): SeedSink {
  return {
    dialect: 'mysql',
    async insert(table, list) {
      const cols = Object.keys(list[0]!)
      const params: unknown[] = []
      const values = list.map((r) => '(' + cols.map((c) => (params.push(r[c]), '?')).join(', ') + ')')
      await conn.query(
        `insert into ${table} (${cols.map((c) => `\`${c}\``).join(', ')}) values ${values.join(', ')}`,
        params,
      )
    },
  }
}

/**
 * The locations whose tenant is their app's (trace_app_config.tracing_config, app_model_configs.agent_mode), in the
 * value shapes Dify writes, plus a legacy bare-token provider_credentials row (`json-or-token`): one app per tenant
 * with an ops-trace config (Langfuse: secret_key/public_key encrypted, host plain) and two saved agent configs whose
 * tools carry secret-input parameters next to plain ones. Appends the secrets to each tenant's list.
 */
export async function seedAppLocations(
  sink: SeedSink,
  tenants: SeededTenant[],
  opts: { encrypt?: (plaintext: string, publicPem: string) => string; legacyProviderToken?: boolean } = {},
): Promise<void> {
  const enc = opts.encrypt ?? ourEncrypt
  const rows = new Map<string, Array<Record<string, unknown>>>()
  const add = (table: string, row: Record<string, unknown>) => {
    if (!rows.has(table)) rows.set(table, [])
    rows.get(table)!.push(row)
  }
  tenants.forEach((t, n) => {
    const tok = (table: string, column: string, id: string, label: string) => {
      const plaintext = `${label}-${t.id.slice(0, 8)}-${n}-ñ`
      t.secrets.push({ table, column, id, tenantId: t.id, plaintext })
      return enc(plaintext, t.keys.publicPem)
    }
    const appId = randomUUID()
    add('apps', {
      id: appId,
      tenant_id: t.id,
      name: `agent ${n}`,
      description: '',
      mode: 'agent-chat',
      icon: '🤖',
      icon_background: '#fff',
      enable_site: true,
      enable_api: true,
      api_rpm: 0,
      api_rph: 0,
      is_demo: false,
      is_public: false,
      created_at: NOW,
      updated_at: NOW,
    })
    const trId = randomUUID()
    add('trace_app_config', {
      id: trId,
      app_id: appId,
      tracing_provider: 'langfuse',
      is_active: true,
      created_at: NOW,
      updated_at: NOW,
      tracing_config: pyJson({
        public_key: tok('trace_app_config', 'tracing_config', trId, 'pk-lf'),
        secret_key: tok('trace_app_config', 'tracing_config', trId, 'sk-lf'),
        host: 'https://cloud.langfuse.com',
        project_key: 'p1',
      }),
    })
    for (const version of [1, 2]) {
      const cfgId = randomUUID()
      add('app_model_configs', {
        id: cfgId,
        app_id: appId,
        provider: '',
        model_id: '',
        configs: '{}',
        created_at: NOW,
        updated_at: NOW,
        agent_mode: pyJson({
          enabled: true,
          max_iteration: 5,
          strategy: 'function_call',
          prompt: null,
          tools: [
            {
              provider_type: 'builtin',
              provider_id: 'langgenius/google/google',
              tool_name: 'google_search',
              tool_parameters: { api_key: tok('app_model_configs', 'agent_mode', cfgId, `serp-v${version}`), hl: 'en' },
              enabled: true,
            },
            {
              provider_type: 'api',
              provider_id: randomUUID(),
              tool_name: 'weather',
              tool_parameters: {
                token: tok('app_model_configs', 'agent_mode', cfgId, `weather-v${version}`),
                city: 'Zürich',
              },
              enabled: true,
            },
            {
              provider_type: 'builtin',
              provider_id: 'time',
              tool_name: 'current_time',
              tool_parameters: {},
              enabled: true,
            },
          ],
        }),
      })
    }
    if (opts.legacyProviderToken) {
      const pcId = randomUUID()
      add('provider_credentials', {
        id: pcId,
        tenant_id: t.id,
        provider_name: 'openai',
        credential_name: 'legacy',
        encrypted_config: tok('provider_credentials', 'encrypted_config', pcId, 'sk-legacy'),
        created_at: NOW,
        updated_at: NOW,
      })
    }
  })
  for (const [table, list] of rows) await sink.insert(table, list)
}
