/**
 * `dify encryption restore-key`: put a saved private key back (the runbook answer to Dify's PrivkeyNotFoundError).
 * The key must parse and every encrypted value of the tenant must decrypt with it, or nothing is changed.
 */
import type { Db } from '../core/db.js'
import type { Storage } from '../runtime/storage.js'
import type { OpenedRedis } from '../runtime/redis.js'
import { BusyError, NotFoundError, ProblemsFoundError, UsageError } from '../core/errors.js'
import { privateKeyBackupPath, privateKeyPath } from '../dify/keys.js'
import { KeyFormatError, parsePrivateKey, publicPemOf } from '../crypto/tenant-key.js'
import { census, type ColumnReport } from './check.js'
import { anyDb, backupTimestamp, freeBackupPath, listTenants } from './tenants.js'
import { deleteTenantCaches } from './caches.js'
import { writeKeyCopy, writeKeyFile } from './key-files.js'
import { withTenantLock } from './lock.js'

export interface RestoreInput {
  tenantId: string
  /** the PEM read from --file */
  pem?: Buffer
  /** --backup TIMESTAMP: privkeys/<tid>/private.pem.<TIMESTAMP>.bak in storage */
  backup?: string
  dryRun?: boolean
  now?: Date
  /** how long to wait for another run's lock on the tenant (default 120 s) */
  lockWaitMs?: number
}

export interface RestoreResult {
  tenantId: string
  source: string
  dryRun: boolean
  /** the key put in place is byte-for-byte the one already there */
  unchanged: boolean
  values: number
  /** backup of the key that was replaced */
  replacedKeyBackup?: string
  publicKeyUpdated: boolean
  cachesDeleted: number
  /** why the tenant's Redis caches could not be deleted (the key is restored all the same) */
  cacheError?: string
  columns: ColumnReport[]
}

export async function restoreKey(
  deps: { db: Db; storage: Storage; redis: () => Promise<OpenedRedis> },
  input: RestoreInput,
): Promise<RestoreResult> {
  const [tenant] = await listTenants(deps.db, [input.tenantId])
  let raw: Buffer
  let source: string
  if (input.backup !== undefined) {
    source = privateKeyBackupPath(tenant!.id, input.backup)
    const b = await deps.storage.readIfExists(source)
    if (!b)
      throw new NotFoundError(`There is no backup ${source} in storage ${deps.storage.location}.`, {
        hint: `Backups are named private.pem.<UTC timestamp>.bak under privkeys/${tenant!.id}/.`,
      })
    raw = b
  } else if (input.pem) {
    raw = input.pem
    source = 'file'
  } else throw new UsageError('Give the key with --file PEM or --backup TIMESTAMP.')
  let key
  try {
    key = parsePrivateKey(raw)
  } catch (e) {
    if (e instanceof KeyFormatError)
      throw new UsageError(`The key from ${source} is not usable: ${e.message}.`, {
        hint: 'Give an RSA private key in PEM form (BEGIN RSA PRIVATE KEY).',
      })
    throw e
  }
  // Dify's exact form: PKCS#1 PEM without a trailing newline
  const pem = (key.export({ type: 'pkcs1', format: 'pem' }) as string).replace(/\n+$/, '')
  const publicPem = publicPemOf(key)
  const { byTenant } = await census(deps.db, [tenant!], () => key)
  const columns = byTenant.get(tenant!.id)!.filter((c) => c.rows || c.malformed)
  const bad = columns.reduce((a, c) => a + c.undecryptable + c.malformed, 0)
  const values = columns.reduce((a, c) => a + c.values, 0)
  if (bad) {
    throw new ProblemsFoundError(
      `${bad} of ${values} encrypted value(s) of tenant ${tenant!.id} do not decrypt with the key from ${source}; nothing was changed.`,
      {
        hint: 'This is not the key these secrets were encrypted with: try another backup (dify encryption check --tenant … --verbose lists the rows).',
        details: {
          columns: columns
            .filter((c) => c.undecryptable || c.malformed)
            .map((c) => ({
              table: c.table,
              column: c.column,
              undecryptable: c.undecryptable,
              failedRowIds: c.failedRowIds,
            })),
        },
      },
    )
  }
  const path = privateKeyPath(tenant!.id)
  const current = await deps.storage.readIfExists(path)
  const unchanged = current !== undefined && current.toString('utf8') === pem && tenant!.encryptPublicKey === publicPem
  const result: RestoreResult = {
    tenantId: tenant!.id,
    source,
    dryRun: Boolean(input.dryRun),
    unchanged,
    values,
    publicKeyUpdated: false,
    cachesDeleted: 0,
    columns,
  }
  if (input.dryRun || unchanged) return result
  await withTenantLock(await deps.redis(), tenant!.id, { waitMs: input.lockWaitMs }, async () => {
    // read again under the lock: a rotate or reset may have changed the key while we verified
    const now = await deps.storage.readIfExists(path)
    if (now && current ? !now.equals(current) : now !== current) {
      throw new BusyError(`The key of tenant ${tenant!.id} changed while it was being verified; nothing was changed.`, {
        hint: 'Run the command again.',
      })
    }
    if (current && current.toString('utf8') !== pem) {
      result.replacedKeyBackup = await freeBackupPath(
        deps.storage,
        tenant!.id,
        backupTimestamp(input.now ?? new Date()),
      )
      // 0600, or the key's own mode if stricter (fs)
      await writeKeyCopy(deps.storage, result.replacedKeyBackup, current, path)
    }
    await anyDb(deps.db)
      .transaction()
      .execute(async (tx) => {
        await tx.selectFrom('tenants').select('id').where('id', '=', tenant!.id).forUpdate().execute()
        await tx.updateTable('tenants').set({ encrypt_public_key: publicPem }).where('id', '=', tenant!.id).execute()
        // last before COMMIT, atomic: if the commit fails the old key is put back below
        await writeKeyFile(deps.storage, path, pem)
      })
      .catch(async (e) => {
        if (current) await writeKeyFile(deps.storage, path, current)
        else await deps.storage.delete(path)
        throw e
      })
  })
  result.publicKeyUpdated = tenant!.encryptPublicKey !== publicPem
  try {
    result.cachesDeleted = await deleteTenantCaches(await deps.redis(), [tenant!.id])
  } catch (e) {
    result.cacheError = (e as Error).message.split('\n')[0]
  }
  return result
}
