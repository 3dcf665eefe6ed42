/**
 * What each writing operation touches in the metadata database, as it is at the window's head (Dify 1.15.0,
 * d9e8f7a6b5c4; checked against the 1.15.0 schema on both dialects by test/integration/release/newer.test.ts).
 * On a database newer than this CLI knows, a writer runs only when every table, column (type and nullability) and
 * primary key of its manifest is still as declared (checkRelease in schema-version.ts); otherwise exit 4 naming the
 * first difference. A writer without a manifest refuses on a newer database.
 */
import { sql } from 'kysely'
import type { Db } from '../core/db.js'

/** Portable column kinds: uuid is PG uuid / MySQL CHAR(36); timestamp(tz) is MySQL DATETIME. */
export type ColumnKind = 'uuid' | `varchar(${number})` | 'timestamp' | 'timestamptz' | 'text' | 'boolean'
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

/** The manifests, keyed by operation (the names used by checkRelease's callers). */
export const MANIFESTS = {
  'reset-password': { accounts: ACCOUNTS, oauth_access_tokens: OAUTH_ACCESS_TOKENS },
  'account-ban': { accounts: ACCOUNTS, oauth_access_tokens: OAUTH_ACCESS_TOKENS },
  'reset-email': { accounts: ACCOUNTS },
} as const satisfies Record<string, Manifest>
export type ManifestOperation = keyof typeof MANIFESTS

function expectedType(kind: ColumnKind, dialect: 'postgres' | 'mysql'): string {
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
