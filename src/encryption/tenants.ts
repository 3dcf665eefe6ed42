import type { KeyObject } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Db } from '../core/db.js'
import type { Storage } from '../runtime/storage.js'
import { NotFoundError, UsageError } from '../core/errors.js'
import { isUuid } from '../accounts/lookup.js'
import { privateKeyBackupPath, privateKeyPath } from '../dify/keys.js'
import { KeyFormatError, keysMatch, parsePrivateKey } from '../crypto/tenant-key.js'

export interface TenantRow {
  id: string
  name: string
  encryptPublicKey: string | null
}

// Dynamic table access (the §5 tables are not all in the generated DifyDatabase types)
// tables outside the generated row types (src/core/tables.ts) are queried untyped
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const anyDb = (db: Db) => db.kysely as unknown as Kysely<any>

/** The tenants to work on: the given ids (each must exist, else exit 3) or all of them, oldest first. */
export async function listTenants(db: Db, given?: string[]): Promise<TenantRow[]> {
  const bad = given?.find((i) => !isUuid(i))
  if (bad !== undefined)
    throw new UsageError(`"${bad}" is not a tenant id (a UUID).`, {
      hint: 'List the tenants with: SELECT id, name FROM tenants;',
    })
  // tenants.id is a uuid: the database answers in lower case whatever case was typed
  const ids = given?.map((i) => i.toLowerCase())
  let q = anyDb(db)
    .selectFrom('tenants')
    .select(['id', 'name', 'encrypt_public_key'])
    .orderBy('created_at')
    .orderBy('id')
  if (ids?.length) q = q.where('id', 'in', ids)
  const rows = (await q.execute()) as Array<{ id: string; name: string; encrypt_public_key: string | null }>
  if (ids?.length) {
    const found = new Set(rows.map((r) => String(r.id)))
    const missing = ids.filter((i) => !found.has(i))
    if (missing.length) {
      throw new NotFoundError(`No tenant (workspace) with id ${missing.join(', ')}.`, {
        hint: 'List the tenants with: SELECT id, name FROM tenants;',
      })
    }
  }
  return rows.map((r) => ({ id: String(r.id), name: r.name, encryptPublicKey: r.encrypt_public_key }))
}

export type KeyStatus = 'ok' | 'missing' | 'unparsable' | 'mismatch' | 'no-public-key'

export interface TenantKeyState {
  status: KeyStatus
  /** the parsed private key when it exists and parses */
  key?: KeyObject
  /** the raw stored bytes */
  pem?: Buffer
  detail?: string
}

/** Read and judge a tenant's private key in storage against tenants.encrypt_public_key. */
export async function loadTenantKey(storage: Storage, tenant: TenantRow): Promise<TenantKeyState> {
  const pem = await storage.readIfExists(privateKeyPath(tenant.id))
  if (!pem) return { status: 'missing', detail: `${privateKeyPath(tenant.id)} does not exist` }
  let key: KeyObject
  try {
    key = parsePrivateKey(pem)
  } catch (e) {
    if (e instanceof KeyFormatError) return { status: 'unparsable', pem, detail: e.message }
    throw e
  }
  if (!tenant.encryptPublicKey)
    return { status: 'no-public-key', key, pem, detail: 'tenants.encrypt_public_key is empty' }
  if (!keysMatch(key, tenant.encryptPublicKey)) {
    return { status: 'mismatch', key, pem, detail: 'the private key does not belong to tenants.encrypt_public_key' }
  }
  return { status: 'ok', key, pem }
}

/** `20260128T031500Z`: the UTC timestamp of backup names */
export function backupTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
}

/** a backup path that does not exist yet: private.pem.<ts>.bak, else private.pem.<ts>-1.bak, … (never overwrite a backup) */
export async function freeBackupPath(storage: Storage, tenantId: string, timestamp: string): Promise<string> {
  for (let i = 0; ; i++) {
    const p = privateKeyBackupPath(tenantId, i ? `${timestamp}-${i}` : timestamp)
    if (!(await storage.exists(p))) return p
  }
}
