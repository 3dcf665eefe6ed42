/**
 * What each writing operation touches in the metadata database, as it is at the window's head (Dify 1.15.0,
 * d9e8f7a6b5c4; checked against the 1.15.0 schema on both dialects by test/integration/release/newer.test.ts).
 * On a database newer than this CLI knows, a writer runs only when every table, column (type and nullability) and
 * primary key of its manifest is still as declared (checkRelease in schema-version.ts); otherwise exit 4 naming the
 * first difference. A writer without a manifest refuses on a newer database.
 */
import { sql } from 'kysely'
import type { Db } from '../core/db.js'

/**
 * Portable column kinds: uuid is PG uuid / MySQL CHAR(36); timestamp(tz) is MySQL DATETIME; json and jsonb are
 * MySQL JSON (which MariaDB reports as LONGTEXT).
 */
export type ColumnKind =
  'uuid' | `varchar(${number})` | 'timestamp' | 'timestamptz' | 'text' | 'boolean' | 'json' | 'jsonb'
export interface ColumnSpec {
  kind: ColumnKind
  nullable: boolean
}
export interface TableSpec {
  columns: Record<string, ColumnSpec>
  primaryKey?: string[]
}
export type Manifest = Record<string, TableSpec>

const c = (kind: ColumnKind, nullable = false): ColumnSpec => ({ kind, nullable })

/** accounts: what the lookup reads and the writers change */
const ACCOUNTS: TableSpec = {
  primaryKey: ['id'],
  columns: {
    id: c('uuid'),
    name: c('varchar(255)'),
    email: c('varchar(255)'),
    password: c('varchar(255)', true),
    password_salt: c('varchar(255)', true),
    status: c('varchar(16)'),
    last_login_at: c('timestamp', true),
    last_login_ip: c('varchar(255)', true),
    last_active_at: c('timestamp'),
    initialized_at: c('timestamp', true),
    created_at: c('timestamp'),
    updated_at: c('timestamp'),
  },
}
/** oauth_access_tokens (1.15.0): what session revocation and account show use */
const OAUTH_ACCESS_TOKENS: TableSpec = {
  primaryKey: ['id'],
  columns: {
    id: c('uuid'),
    account_id: c('uuid', true),
    client_id: c('varchar(64)'),
    device_label: c('varchar(255)'),
    token_hash: c('varchar(64)', true),
    created_at: c('timestamptz'),
    last_used_at: c('timestamptz', true),
    expires_at: c('timestamptz'),
    revoked_at: c('timestamptz', true),
  },
}

const uuidPk = (owner: 'tenant_id' | 'app_id', cols: Record<string, ColumnSpec>, ownerNullable = false): TableSpec => ({
  primaryKey: ['id'],
  columns: { id: c('uuid'), [owner]: c('uuid', ownerNullable), ...cols },
})

/**
 * The tenant-key-encrypted locations as at 1.15.0 (src/dify/encrypted-columns.ts, those without `until`), with the
 * tenants' public keys and the apps that own the app-located ones: what encryption restore-key reads (every value
 * must decrypt) and what reset-encrypt-key-pair reads, deletes from and lists.
 */
const TENANT_KEYS: Manifest = {
  tenants: { primaryKey: ['id'], columns: { id: c('uuid'), encrypt_public_key: c('text', true) } },
  apps: uuidPk('tenant_id', {}),
  providers: uuidPk('tenant_id', { provider_type: c('varchar(40)') }),
  provider_models: uuidPk('tenant_id', {}),
  provider_credentials: uuidPk('tenant_id', { encrypted_config: c('text') }),
  provider_model_credentials: uuidPk('tenant_id', { encrypted_config: c('text') }),
  load_balancing_model_configs: uuidPk('tenant_id', { encrypted_config: c('text', true) }),
  tool_builtin_providers: uuidPk('tenant_id', { encrypted_credentials: c('text', true) }, true),
  tool_api_providers: uuidPk('tenant_id', { credentials_str: c('text') }),
  tool_mcp_providers: uuidPk('tenant_id', {
    server_url: c('text'),
    encrypted_credentials: c('text', true),
    encrypted_headers: c('text', true),
  }),
  tool_oauth_tenant_clients: uuidPk('tenant_id', { encrypted_oauth_params: c('text') }),
  datasource_providers: uuidPk('tenant_id', { encrypted_credentials: c('jsonb') }),
  datasource_oauth_tenant_params: uuidPk('tenant_id', { client_params: c('jsonb') }),
  trigger_subscriptions: uuidPk('tenant_id', { credentials: c('json'), properties: c('json') }),
  trigger_oauth_tenant_clients: uuidPk('tenant_id', { encrypted_oauth_params: c('text') }),
  data_source_api_key_auth_bindings: uuidPk('tenant_id', { credentials: c('text', true) }),
  api_based_extensions: uuidPk('tenant_id', { api_key: c('text') }),
  workflows: uuidPk('tenant_id', { environment_variables: c('text') }),
  trace_app_config: uuidPk('app_id', { tracing_config: c('json', true) }),
  app_model_configs: uuidPk('app_id', { agent_mode: c('text', true) }),
}

/**
 * The manifests, keyed by operation (the command id with ':' → '-', the names used by checkRelease's callers).
 * Writers that touch no table of Dify's (Redis keys, Celery's kombu queues, objects in dify-ops' own storage
 * quarantine) have an empty manifest: nothing of Dify's schema can differ for them.
 *
 * Writers WITHOUT a manifest refuse on a newer database, because what decides their result is not a table layout
 * that introspection can check (docs/releases.md "Databases outside the window"):
 * - encryption rotate: a newer release may encrypt values in a location this CLI does not know; a rotation would
 *   leave them under the old key and they would be lost;
 * - vdb-migrate, vdb repair: a newer release may index a kind of vector this CLI does not know (as 1.12.0 added
 *   summaries); a migration would leave it behind and switch, a repair would delete it as an orphan;
 * - storage quarantine: a newer release may reference files from a place this CLI does not know; in-use files would
 *   be moved away;
 * - documents requeue: the indexing tasks' names, queues and arguments are a code contract, not a table;
 * - db stamp: it writes alembic_version, which on a newer database only Dify's own code may move;
 * - retention clean, retention restore: a newer release may add rows that belong to a run, a message or a
 *   conversation in tables this CLI's dependency map does not know; a clean would leave them orphaned.
 * storage purge only deletes dify-ops' own quarantine, and storage migrate copies every object whatever a newer
 * release stores (its check of file rows reads only columns that exist): both have an empty manifest.
 */
export const MANIFESTS = {
  'reset-password': { accounts: ACCOUNTS, oauth_access_tokens: OAUTH_ACCESS_TOKENS },
  'account-ban': { accounts: ACCOUNTS, oauth_access_tokens: OAUTH_ACCESS_TOKENS },
  'account-unban': { accounts: ACCOUNTS },
  'reset-email': { accounts: ACCOUNTS },
  'account-unlock': {},
  'db-lock-clear': {},
  'queue-purge': {},
  'queue-restore-unacked': {},
  'storage-restore': {},
  'storage-purge': {},
  'storage-migrate': {},
  'encryption-restore-key': TENANT_KEYS,
  'reset-encrypt-key-pair': TENANT_KEYS,
} as const satisfies Record<string, Manifest>

/** Writing operations that refuse on a database newer than this CLI knows (see MANIFESTS). */
export const NO_MANIFEST: Readonly<Record<string, string>> = {
  'encryption-rotate': 'a newer release may keep encrypted values where this CLI does not look',
  'vdb-migrate': 'a newer release may index vectors this CLI does not know',
  'vdb-repair': 'a newer release may index vectors this CLI does not know',
  'storage-quarantine': 'a newer release may reference files from places this CLI does not know',
  'documents-requeue': "the indexing tasks are a contract of Dify's code, not of its tables",
  'db-stamp': "it writes alembic_version, which on a newer database only Dify's own code may move",
  'retention-clean':
    'a newer release may keep rows of a run, a message or a conversation in tables this CLI does not know',
  'retention-restore':
    'a newer release may keep rows of a run, a message or a conversation in tables this CLI does not know',
}
export type ManifestOperation = keyof typeof MANIFESTS

function expectedType(kind: ColumnKind, dialect: 'postgres' | 'mysql'): string {
  if (kind === 'json' || kind === 'jsonb') return dialect === 'postgres' ? kind : 'json'
  const m = /^varchar\((\d+)\)$/.exec(kind)
  if (m) return dialect === 'postgres' ? `character varying(${m[1]})` : `varchar(${m[1]})`
  if (kind === 'uuid') return dialect === 'postgres' ? 'uuid' : 'char(36)'
  if (kind === 'timestamp') return dialect === 'postgres' ? 'timestamp without time zone' : 'datetime'
  if (kind === 'timestamptz') return dialect === 'postgres' ? 'timestamp with time zone' : 'datetime'
  if (kind === 'boolean') return dialect === 'postgres' ? 'boolean' : 'tinyint(1)'
  return dialect === 'postgres' ? 'text' : 'longtext'
}

interface ColRow {
  table_name: string
  column_name: string
  data_type: string
  len: number | string | null
  is_nullable: string
}

/** The first difference between the database and `manifest` in words, or null when everything is as declared. */
export async function verifyManifest(db: Db, manifest: Manifest): Promise<string | null> {
  const tables = Object.keys(manifest)
  if (!tables.length) return null
  const dialect = db.dialect === 'mysql' ? 'mysql' : 'postgres'
  const schema = dialect === 'postgres' ? sql`current_schema()` : sql`database()`
  const list = sql.join(tables.map((t) => sql`${t}`))
  const cols =
    await sql<ColRow>`select table_name as table_name, column_name as column_name, ${dialect === 'postgres' ? sql`data_type` : sql`column_type`} as data_type,
      character_maximum_length as len, is_nullable as is_nullable
    from information_schema.columns where table_schema = ${schema} and table_name in (${list})`.execute(db.kysely)
  const pk = await sql<{
    table_name: string
    column_name: string
  }>`select k.table_name as table_name, k.column_name as column_name
    from information_schema.table_constraints t join information_schema.key_column_usage k
      on k.constraint_name = t.constraint_name and k.table_schema = t.table_schema and k.table_name = t.table_name
    where t.constraint_type = 'PRIMARY KEY' and t.table_schema = ${schema} and t.table_name in (${list})
    order by k.ordinal_position`.execute(db.kysely)
  const byTable = new Map<string, Map<string, ColRow>>()
  for (const r of cols.rows) {
    const t = String(r.table_name)
    if (!byTable.has(t)) byTable.set(t, new Map())
    byTable.get(t)!.set(String(r.column_name), r)
  }
  for (const [table, spec] of Object.entries(manifest)) {
    const have = byTable.get(table)
    if (!have) return `the table ${table} does not exist`
    for (const [name, col] of Object.entries(spec.columns)) {
      const r = have.get(name)
      if (!r) return `the column ${table}.${name} does not exist`
      const want = expectedType(col.kind, dialect)
      let got = String(r.data_type).toLowerCase()
      if (dialect === 'postgres' && got === 'character varying') got = `character varying(${r.len})`
      // MariaDB keeps JSON as LONGTEXT (with a json_valid check)
      if (dialect === 'mysql' && want === 'json' && got === 'longtext') got = 'json'
      if (got !== want) return `the column ${table}.${name} is ${got}, not ${want}`
      const nullable = String(r.is_nullable).toUpperCase() === 'YES'
      if (nullable !== col.nullable)
        return `the column ${table}.${name} is ${nullable ? 'nullable' : 'NOT NULL'}, not ${col.nullable ? 'nullable' : 'NOT NULL'}`
    }
    if (spec.primaryKey) {
      const got = pk.rows.filter((r) => String(r.table_name) === table).map((r) => String(r.column_name))
      if (got.join(',') !== spec.primaryKey.join(','))
        return `the primary key of ${table} is (${got.join(', ') || 'none'}), not (${spec.primaryKey.join(', ')})`
    }
  }
  return null
}

/** The manifest of an operation for a profile: tables that do not exist at the connected release are left out. */
export function manifestFor(operation: ManifestOperation, profile: { oauthAccessTokens: boolean }): Manifest {
  const m: Manifest = { ...MANIFESTS[operation] }
  if (!profile.oauthAccessTokens) delete m.oauth_access_tokens
  return m
}
