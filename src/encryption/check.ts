/**
 * `dify encryption check`: for each tenant, is the private key in storage, does it parse and match
 * tenants.encrypt_public_key, and does every tenant-key-encrypted value of §5 decrypt with it? Read-only.
 */
import type { KeyObject } from 'node:crypto'
import type { Db } from '../core/db.js'
import type { Storage } from '../runtime/storage.js'
import { TENANT_ENCRYPTED_COLUMNS, type EncryptedColumn } from '../dify/encrypted-columns.js'
import { decryptToken, DecryptError } from '../crypto/tenant-key.js'
import { extractTokens } from './values.js'
import { existingTables } from '../core/catalog.js'
import { presentColumns, scanColumn } from './scan.js'
import { listTenants, loadTenantKey, type KeyStatus, type TenantRow } from './tenants.js'

/** row ids listed per column at most (the counts are always complete) */
export const MAX_LISTED_IDS = 1000

export interface ColumnReport {
  table: string
  column: string
  /** rows holding at least one encrypted value */
  rows: number
  /** encrypted values */
  values: number
  /** values that do not decrypt with the tenant's key */
  undecryptable: number
  /** ids of rows with an undecryptable value (or malformed JSON), at most MAX_LISTED_IDS */
  failedRowIds: string[]
  /** rows whose JSON does not parse (their tokens cannot be found) */
  malformed: number
}

export interface TenantReport {
  tenantId: string
  name: string
  key: { status: KeyStatus; detail?: string }
  columns: ColumnReport[]
  values: number
  undecryptable: number
  ok: boolean
}

export interface CheckResult {
  storage: string
  ok: boolean
  tenants: TenantReport[]
  summary: { tenants: number; tenantsOk: number; keyProblems: number; values: number; undecryptable: number }
  /** tables of the list this database does not have (older Dify release) */
  missingTables: string[]
  /** columns of the list whose table exists but the column does not (another release: e.g. providers.encrypted_config before 1.8.0) */
  absentColumns: string[]
}

export interface CensusOptions {
  /** decrypt with these keys instead of the stored ones (restore-key checks a candidate) */
  keys?: Map<string, KeyObject | undefined>
  /** only count (no decryption): reset --dry-run */
  decrypt?: boolean
  columns?: readonly EncryptedColumn[]
  /** the tenants are all tenants: scan whole tables instead of filtering by id */
  allTenants?: boolean
}

/** Scan every encrypted column once for the given tenants and judge each value. */
export async function census(
  db: Db,
  tenants: TenantRow[],
  keyOf: (tenantId: string) => KeyObject | undefined,
  opts: CensusOptions = {},
) {
  const columns = opts.columns ?? TENANT_ENCRYPTED_COLUMNS
  const present = new Set(await presentColumns(db, columns))
  const byTenant = new Map<string, ColumnReport[]>(tenants.map((t) => [t.id, []]))
  const ids = tenants.map((t) => t.id)
  for (const col of columns) {
    if (!present.has(col)) continue
    const reports = new Map<string, ColumnReport>()
    for (const t of ids) {
      const r: ColumnReport = {
        table: col.table,
        column: col.column,
        rows: 0,
        values: 0,
        undecryptable: 0,
        failedRowIds: [],
        malformed: 0,
      }
      reports.set(t, r)
      byTenant.get(t)!.push(r)
    }
    for await (const page of scanColumn(db, col, { tenantIds: opts.allTenants ? undefined : ids })) {
      for (const row of page) {
        const rep = reports.get(row.tenantId)
        if (!rep) continue
        const { tokens, malformed } = extractTokens(col, row.raw)
        if (malformed) {
          rep.malformed++
          if (rep.failedRowIds.length < MAX_LISTED_IDS) rep.failedRowIds.push(row.id)
          continue
        }
        if (!tokens.length) continue
        rep.rows++
        rep.values += tokens.length
        if (opts.decrypt === false) continue
        const key = keyOf(row.tenantId)
        let bad = 0
        for (const t of tokens) {
          if (!key) {
            bad++
            continue
          }
          try {
            decryptToken(t, key)
          } catch (e) {
            if (!(e instanceof DecryptError)) throw e
            bad++
          }
        }
        if (bad) {
          rep.undecryptable += bad
          if (rep.failedRowIds.length < MAX_LISTED_IDS) rep.failedRowIds.push(row.id)
        }
      }
    }
  }
  const tables = await existingTables(db, [...new Set(columns.map((c) => c.table))])
  return {
    byTenant,
    missingTables: [...new Set(columns.map((c) => c.table))].filter((t) => !tables.has(t)),
    absentColumns: columns.filter((c) => tables.has(c.table) && !present.has(c)).map((c) => `${c.table}.${c.column}`),
  }
}

export async function checkEncryption(
  deps: { db: Db; storage: Storage },
  input: { tenantIds?: string[] } = {},
): Promise<CheckResult> {
  const tenants = await listTenants(deps.db, input.tenantIds)
  const states = new Map<string, Awaited<ReturnType<typeof loadTenantKey>>>()
  await pool(tenants, 8, async (t) => void states.set(t.id, await loadTenantKey(deps.storage, t)))
  const { byTenant, missingTables, absentColumns } = await census(deps.db, tenants, (id) => states.get(id)?.key, {
    allTenants: !input.tenantIds?.length,
  })
  const reports: TenantReport[] = tenants.map((t) => {
    const st = states.get(t.id)!
    const columns = byTenant.get(t.id)!.filter((c) => c.rows || c.malformed)
    const values = columns.reduce((a, c) => a + c.values, 0)
    const undecryptable = columns.reduce((a, c) => a + c.undecryptable, 0)
    const malformed = columns.reduce((a, c) => a + c.malformed, 0)
    return {
      tenantId: t.id,
      name: t.name,
      key: { status: st.status, ...(st.detail ? { detail: st.detail } : {}) },
      columns,
      values,
      undecryptable,
      ok: st.status === 'ok' && undecryptable === 0 && malformed === 0,
    }
  })
  const summary = {
    tenants: reports.length,
    tenantsOk: reports.filter((r) => r.ok).length,
    keyProblems: reports.filter((r) => r.key.status !== 'ok').length,
    values: reports.reduce((a, r) => a + r.values, 0),
    undecryptable: reports.reduce((a, r) => a + r.undecryptable, 0),
  }
  return {
    storage: deps.storage.location,
    ok: summary.tenantsOk === summary.tenants,
    tenants: reports,
    summary,
    missingTables,
    absentColumns,
  }
}

/** run f over items with at most n in flight */
export async function pool<T>(
  items: T[],
  n: number,
  f: (item: T, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const i = next++
      await f(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker))
}
