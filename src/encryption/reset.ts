/**
 * `dify reset-encrypt-key-pair`: a new RSA key pair per tenant, as Dify's command of the same name (api/commands.py),
 * made safe: a preview (--dry-run), a guard against a wrong storage, a backup of the old key, one transaction per
 * tenant with the old key put back when it fails, the orphaned credential rows deleted, the Redis caches flushed.
 */
import type { Db } from '../core/db.js'
import type { Storage } from '../runtime/storage.js'
import type { OpenedRedis } from '../runtime/redis.js'
import { ConfigError } from '../core/errors.js'
import { PRIVKEYS_PREFIX, privateKeyPath } from '../dify/keys.js'
import { resetDeletesFor, TENANT_ENCRYPTED_COLUMNS, type ResetDelete } from '../dify/encrypted-columns.js'
import { loadProfile } from '../dify/schema-version.js'
import { generateTenantKeyPair, type TenantKeyPair } from '../crypto/tenant-key.js'
import { census, MAX_LISTED_IDS, pool } from './check.js'
import { existingTables } from '../core/catalog.js'
import { presentColumns } from './scan.js'
import { writeKeyCopy, writeKeyFile } from './key-files.js'
import { TenantBusyError, withTenantLock } from './lock.js'
import { anyDb, backupTimestamp, freeBackupPath, listTenants, type TenantRow } from './tenants.js'
import { deleteTenantCaches } from './caches.js'

export interface ResetInput {
  edition: string
  tenantIds?: string[]
  /** reset even when storage holds no privkeys/ while tenants have public keys */
  force?: boolean
  /** copy the old private key to private.pem.<UTC timestamp>.bak (default true) */
  backup?: boolean
  now?: Date
  /** tenants in flight at once (key generation runs on libuv's thread pool) */
  concurrency?: number
  /** key generation, replaceable by the benchmark */
  generate?: () => Promise<TenantKeyPair>
  onTenantDone?: (done: number, total: number) => void
  /** stop starting tenants (those in flight finish); the rest are reported as 'skipped' */
  signal?: AbortSignal
  /** how long to wait for another run's lock on a tenant (default 120 s) */
  lockWaitMs?: number
}

export interface PlannedDelete {
  table: string
  rows: number
  /** at most MAX_LISTED_IDS */
  ids: string[]
}

export interface UnreadableSecrets {
  table: string
  column: string
  rows: number
  values: number
}

export interface ResetTenantPlan {
  tenantId: string
  name: string
  hasPrivateKey: boolean
  hasPublicKey: boolean
  deletes: PlannedDelete[]
  /** tenant-key-encrypted values that stay in place and can no longer be decrypted */
  unreadable: UnreadableSecrets[]
}

export interface ResetPlan {
  storage: string
  /** privkeys/ objects found in storage */
  privateKeysInStorage: number
  tenants: ResetTenantPlan[]
  backupTimestamp: string | null
  /** the Dify release of the database (decides what is deleted: see resetDeletesFor), null when unknown */
  difyVersion: string | null
  /** the tables a reset deletes the tenant's rows from on this release (`dify`: Dify's own command does too) */
  deletesFrom: ResetDelete[]
}

export interface ResetTenantOutcome {
  tenantId: string
  name: string
  status: 'reset' | 'failed' | 'skipped'
  /** storage path of the backup of the old key */
  backup?: string
  deleted: Record<string, number>
  /** failed because another run held the tenant's lock for longer than the wait */
  busy?: boolean
  error?: string
}

export interface ResetResult extends ResetPlan {
  dryRun: boolean
  outcomes: ResetTenantOutcome[]
  cachesDeleted: number
  cacheError?: string
  summary: { tenants: number; reset: number; failed: number; skipped: number }
}

export function checkEdition(edition: string): void {
  if (edition !== 'SELF_HOSTED') {
    throw new ConfigError(`This command is only for SELF_HOSTED installations (EDITION=${edition}).`, {
      hint: 'Set EDITION=SELF_HOSTED as in the dify-api container if this is a self-hosted installation.',
    })
  }
}

async function listPrivkeys(storage: Storage): Promise<string[]> {
  try {
    return await storage.list(PRIVKEYS_PREFIX)
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return []
    throw e
  }
}

/** Everything a reset would do, without doing any of it (also the --dry-run result). */
export async function planReset(deps: { db: Db; storage: Storage }, input: ResetInput): Promise<ResetPlan> {
  checkEdition(input.edition)
  const tenants = await listTenants(deps.db, input.tenantIds)
  const stored = await listPrivkeys(deps.storage)
  const withPublic = tenants.filter((t) => t.encryptPublicKey)
  if (stored.length === 0 && withPublic.length > 0 && !input.force) {
    throw new ConfigError(
      `Storage ${deps.storage.location} holds no ${PRIVKEYS_PREFIX} at all while ${withPublic.length} tenant(s) have public keys: this is not the storage Dify uses, or its volume is missing.`,
      {
        hint: "Point dify-ops at Dify's storage (STORAGE_TYPE, OPENDAL_FS_ROOT or STORAGE_LOCAL_PATH, as in the dify-api container), or pass --force if the keys are really lost.",
      },
    )
  }
  const storedSet = new Set(stored)
  const all = !input.tenantIds?.length
  const difyVersion = (await loadProfile(deps.db)).version
  const deletesFrom = [...resetDeletesFor(difyVersion)]
  const deletes = await plannedDeletes(deps.db, tenants, all, deletesFrom)
  const deleted = new Set(deletesFrom.map((d) => d.table))
  const kept = (await presentColumns(deps.db, TENANT_ENCRYPTED_COLUMNS)).filter((c) => !deleted.has(c.table))
  const { byTenant } = await census(deps.db, tenants, () => undefined, {
    decrypt: false,
    columns: kept,
    allTenants: all,
  })
  return {
    storage: deps.storage.location,
    privateKeysInStorage: stored.filter((p) => p.endsWith('/private.pem')).length,
    backupTimestamp: input.backup === false ? null : backupTimestamp(input.now ?? new Date()),
    difyVersion,
    deletesFrom,
    tenants: tenants.map((t) => ({
      tenantId: t.id,
      name: t.name,
      hasPrivateKey: storedSet.has(privateKeyPath(t.id)),
      hasPublicKey: Boolean(t.encryptPublicKey),
      deletes: deletes.get(t.id) ?? [],
      unreadable: byTenant
        .get(t.id)!
        .filter((c) => c.values > 0)
        .map((c) => ({ table: c.table, column: c.column, rows: c.rows, values: c.values })),
    })),
  }
}

async function plannedDeletes(
  db: Db,
  tenants: TenantRow[],
  all: boolean,
  deletesFrom: readonly ResetDelete[],
): Promise<Map<string, PlannedDelete[]>> {
  const k = anyDb(db)
  const present = await existingTables(
    db,
    deletesFrom.map((d) => d.table),
  )
  const out = new Map<string, PlannedDelete[]>(tenants.map((t) => [t.id, []]))
  const ids = tenants.map((t) => t.id)
  if (!ids.length) return out
  for (const d of deletesFrom) {
    if (!present.has(d.table)) continue
    let q = k.selectFrom(d.table).select(['id', 'tenant_id']).orderBy('id')
    if (!all) q = q.where('tenant_id', 'in', ids)
    if (d.where) q = q.where(d.where.column, '=', d.where.value)
    const per = new Map<string, PlannedDelete>()
    for (const r of (await q.execute()) as Array<{ id: string; tenant_id: string }>) {
      const tid = String(r.tenant_id)
      if (!out.has(tid)) continue
      let p = per.get(tid)
      if (!p) per.set(tid, (p = { table: d.table, rows: 0, ids: [] }))
      p.rows++
      if (p.ids.length < MAX_LISTED_IDS) p.ids.push(String(r.id))
    }
    for (const [tid, p] of per) out.get(tid)!.push(p)
  }
  return out
}

/** Carry out a plan (the caller has confirmed). Never throws for one tenant's failure: see outcomes. */
export async function executeReset(
  deps: { db: Db; storage: Storage; redis: () => Promise<OpenedRedis> },
  plan: ResetPlan,
  input: ResetInput,
): Promise<ResetResult> {
  const generate = input.generate ?? generateTenantKeyPair
  const outcomes: ResetTenantOutcome[] = new Array(plan.tenants.length)
  const present = await existingTables(
    deps.db,
    plan.deletesFrom.map((d) => d.table),
  )
  // the per-tenant lock lives in Redis: an unreachable Redis stops the run here, before anything is written (exit 5)
  const redis = plan.tenants.length ? await deps.redis() : undefined
  let done = 0
  await pool(
    plan.tenants,
    deps.db.type === 'pglite' ? 1 : Math.max(1, input.concurrency ?? 4),
    async (t, i) => {
      try {
        const kp = await generate()
        outcomes[i] = await withTenantLock(redis!, t.tenantId, { waitMs: input.lockWaitMs, signal: input.signal }, () =>
          resetTenant(deps, t, kp, plan.backupTimestamp, plan.deletesFrom, present),
        )
      } catch (e) {
        outcomes[i] = {
          tenantId: t.tenantId,
          name: t.name,
          status: 'failed',
          deleted: {},
          error: (e as Error).message.split('\n')[0],
          ...(e instanceof TenantBusyError ? { busy: true } : {}),
        }
      }
      input.onTenantDone?.(++done, plan.tenants.length)
    },
    input.signal,
  )
  plan.tenants.forEach(
    (t, i) => (outcomes[i] ??= { tenantId: t.tenantId, name: t.name, status: 'skipped', deleted: {} }),
  )
  const succeeded = outcomes.filter((o) => o.status === 'reset').map((o) => o.tenantId)
  let cachesDeleted = 0
  let cacheError: string | undefined
  try {
    if (succeeded.length) cachesDeleted = await deleteTenantCaches(await deps.redis(), succeeded)
  } catch (e) {
    cacheError = (e as Error).message.split('\n')[0]
  }
  return {
    ...plan,
    dryRun: false,
    outcomes,
    cachesDeleted,
    ...(cacheError ? { cacheError } : {}),
    summary: {
      tenants: outcomes.length,
      reset: succeeded.length,
      failed: outcomes.filter((o) => o.status === 'failed').length,
      skipped: outcomes.filter((o) => o.status === 'skipped').length,
    },
  }
}

async function resetTenant(
  deps: { db: Db; storage: Storage },
  t: ResetTenantPlan,
  kp: TenantKeyPair,
  timestamp: string | null,
  deletesFrom: readonly ResetDelete[],
  present: Set<string>,
): Promise<ResetTenantOutcome> {
  const path = privateKeyPath(t.tenantId)
  const old = await deps.storage.readIfExists(path)
  let backup: string | undefined
  if (old && timestamp) {
    backup = await freeBackupPath(deps.storage, t.tenantId, timestamp)
    // 0600, or the key's own mode if stricter (fs); never half a file
    await writeKeyCopy(deps.storage, backup, old, path)
  }
  const deleted: Record<string, number> = {}
  let wrote = false
  try {
    await anyDb(deps.db)
      .transaction()
      .execute(async (tx) => {
        await tx.selectFrom('tenants').select('id').where('id', '=', t.tenantId).forUpdate().execute()
        await tx.updateTable('tenants').set({ encrypt_public_key: kp.publicPem }).where('id', '=', t.tenantId).execute()
        for (const d of deletesFrom) {
          if (!present.has(d.table)) continue
          let q = tx.deleteFrom(d.table).where('tenant_id', '=', t.tenantId)
          if (d.where) q = q.where(d.where.column, '=', d.where.value)
          const r = await q.executeTakeFirst()
          deleted[d.table] = Number(r.numDeletedRows)
        }
        // last, just before COMMIT: the window in which storage and database disagree is as short as it can be
        wrote = true
        // atomic (temporary file + rename), keeping the old key's file mode
        await writeKeyFile(deps.storage, path, kp.privatePem)
      })
  } catch (e) {
    // the database still holds the old public key: put the old private key back
    if (wrote) {
      if (old) await writeKeyFile(deps.storage, path, old)
      else await deps.storage.delete(path)
    }
    throw e
  }
  return { tenantId: t.tenantId, name: t.name, status: 'reset', ...(backup ? { backup } : {}), deleted }
}
