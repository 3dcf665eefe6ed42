/**
 * `dify encryption rotate`: a new key pair per tenant without losing a secret. Every tenant-key-encrypted value is
 * decrypted with the old key and encrypted with the new one in the transaction that stores the new public key; JSON
 * documents keep every other byte. Crash-safe: the old key stays in storage as private.pem.previous until the
 * transaction has committed and the values decrypt with the new key; a rerun after a crash finishes the job.
 *
 * Per tenant: 1. copy private.pem → private.pem.previous; 2. in one transaction: lock the tenant row, re-encrypt,
 * store the public key, write the new private.pem (last, just before COMMIT); 3. delete the Redis caches; 4. verify;
 * 5. delete private.pem.previous. States a crash can leave, and what a rerun does:
 * - previous = current key, DB has its public key (crash after 1): carry on from 2;
 * - previous matches the DB's public key, private.pem holds an uncommitted key (crash inside 2): redo 2 with previous;
 * - private.pem matches the DB's public key, previous is another key (crash after commit): finish with 3–5.
 */
import type { KeyObject } from 'node:crypto'
import type { Db } from '../core/db.js'
import type { Storage } from '../runtime/storage.js'
import type { OpenedRedis } from '../runtime/redis.js'
import { keys, privateKeyPath, privateKeyPreviousPath } from '../dify/keys.js'
import { TENANT_ENCRYPTED_COLUMNS, type EncryptedColumn } from '../dify/encrypted-columns.js'
import {
  decryptToken,
  DecryptError,
  encryptToken,
  generateTenantKeyPair,
  keysMatch,
  KeyFormatError,
  parsePrivateKey,
  parsePublicKey,
  type TenantKeyPair,
} from '../crypto/tenant-key.js'
import { census, MAX_LISTED_IDS, pool } from './check.js'
import { presentColumns, scanColumn } from './scan.js'
import { writeKeyCopy, writeKeyFile } from './key-files.js'
import { TenantBusyError, withTenantLock } from './lock.js'
import { anyDb, listTenants, type TenantRow } from './tenants.js'
import { extractTokens, replaceTokens } from './values.js'
import { deleteTenantCaches } from './caches.js'

export interface RotateInput {
  tenantIds?: string[]
  dryRun?: boolean
  /** remove values that do not decrypt: JSON fields become "", whole-value columns lose their row */
  dropUndecryptable?: boolean
  concurrency?: number
  generate?: () => Promise<TenantKeyPair>
  onTenantDone?: (done: number, total: number) => void
  /** stop starting tenants (those in flight finish); the rest are reported as 'skipped' */
  signal?: AbortSignal
  /** how long to wait for another run's lock on a tenant (default 120 s) */
  lockWaitMs?: number
}

export interface UndecryptableValues {
  table: string
  column: string
  values: number
  rowIds: string[]
}

export interface RotateOutcome {
  tenantId: string
  name: string
  status: 'rotated' | 'would-rotate' | 'failed' | 'skipped'
  /** this run finished or redid the work of an interrupted one */
  resumed: boolean
  reencrypted: number
  undecryptable: UndecryptableValues[]
  /** values removed by --drop-undecryptable (rows deleted for whole-value columns) */
  dropped: number
  /** the key this run started from was private.pem.previous (private.pem was missing or did not parse) */
  recoveredFrom?: string
  /** failed because another run held the tenant's lock for longer than the wait */
  busy?: boolean
  error?: string
}

export interface RotateResult {
  storage: string
  dryRun: boolean
  outcomes: RotateOutcome[]
  cachesDeleted: number
  cacheError?: string
  summary: {
    tenants: number
    rotated: number
    failed: number
    skipped: number
    busy: number
    reencrypted: number
    undecryptable: number
    dropped: number
  }
}

type Deps = { db: Db; storage: Storage; redis: () => Promise<OpenedRedis> }

class TenantFailure extends Error {}

export async function rotateKeys(deps: Deps, input: RotateInput): Promise<RotateResult> {
  const tenants = await listTenants(deps.db, input.tenantIds)
  const columns = await presentColumns(deps.db, TENANT_ENCRYPTED_COLUMNS)
  // the per-tenant lock lives in Redis: an unreachable Redis stops the run here, before anything is written (exit 5)
  if (!input.dryRun && tenants.length) await deps.redis()
  const outcomes: RotateOutcome[] = new Array(tenants.length)
  let done = 0
  // PGlite has one connection: tenants one at a time there
  await pool(
    tenants,
    deps.db.type === 'pglite' ? 1 : Math.max(1, input.concurrency ?? 4),
    async (t, i) => {
      const o: RotateOutcome = {
        tenantId: t.id,
        name: t.name,
        status: 'failed',
        resumed: false,
        reencrypted: 0,
        undecryptable: [],
        dropped: 0,
      }
      try {
        await rotateTenant(deps, t, input, columns, o)
      } catch (e) {
        o.status = 'failed'
        o.error = (e as Error).message.split('\n')[0]
        if (e instanceof TenantBusyError) o.busy = true
      }
      outcomes[i] = o
      input.onTenantDone?.(++done, tenants.length)
    },
    input.signal,
  )
  tenants.forEach(
    (t, i) =>
      (outcomes[i] ??= {
        tenantId: t.id,
        name: t.name,
        status: 'skipped',
        resumed: false,
        reencrypted: 0,
        undecryptable: [],
        dropped: 0,
      }),
  )
  let cachesDeleted = 0
  let cacheError: string | undefined
  const rotated = outcomes.filter((o) => o.status === 'rotated').map((o) => o.tenantId)
  try {
    // the per-tenant step deleted the private-key cache already; this pass takes the credential caches
    if (rotated.length) cachesDeleted = await deleteTenantCaches(await deps.redis(), rotated)
  } catch (e) {
    cacheError = (e as Error).message.split('\n')[0]
  }
  const sum = (f: (o: RotateOutcome) => number) => outcomes.reduce((a, o) => a + f(o), 0)
  return {
    storage: deps.storage.location,
    dryRun: Boolean(input.dryRun),
    outcomes,
    cachesDeleted,
    ...(cacheError ? { cacheError } : {}),
    summary: {
      tenants: outcomes.length,
      rotated: outcomes.filter((o) => o.status === 'rotated' || o.status === 'would-rotate').length,
      failed: outcomes.filter((o) => o.status === 'failed').length,
      skipped: outcomes.filter((o) => o.status === 'skipped').length,
      busy: outcomes.filter((o) => o.busy).length,
      reencrypted: sum((o) => o.reencrypted),
      undecryptable: sum((o) => o.undecryptable.reduce((a, u) => a + u.values, 0)),
      dropped: sum((o) => o.dropped),
    },
  }
}

const matches = (k: KeyObject | undefined, pub: string | null) => k !== undefined && keysMatch(k, pub)

/** a stored key: its bytes and, when they parse, the key (a torn or foreign file does not parse) */
interface StoredKey {
  pem: Buffer
  key?: KeyObject
  error?: string
}

function parseStored(pem: Buffer | undefined): StoredKey | undefined {
  if (!pem) return undefined
  try {
    return { pem, key: parsePrivateKey(pem) }
  } catch (e) {
    if (e instanceof KeyFormatError) return { pem, error: e.message }
    throw e
  }
}

async function rotateTenant(
  deps: Deps,
  t0: TenantRow,
  input: RotateInput,
  columns: readonly EncryptedColumn[],
  o: RotateOutcome,
): Promise<void> {
  if (input.dryRun) return rotateTenantLocked(deps, t0, input, columns, o)
  // one run per tenant at a time (another rotate, reset or restore-key waits here); then read the tenant afresh
  await withTenantLock(await deps.redis(), t0.id, { waitMs: input.lockWaitMs, signal: input.signal }, async () => {
    const [t] = await listTenants(deps.db, [t0.id])
    await rotateTenantLocked(deps, t!, input, columns, o)
  })
}

async function rotateTenantLocked(
  deps: Deps,
  t: TenantRow,
  input: RotateInput,
  columns: readonly EncryptedColumn[],
  o: RotateOutcome,
): Promise<void> {
  const path = privateKeyPath(t.id)
  const prevPath = privateKeyPreviousPath(t.id)
  const [curPem, prevPem] = await Promise.all([deps.storage.readIfExists(path), deps.storage.readIfExists(prevPath)])
  const cur = parseStored(curPem)
  const prev = parseStored(prevPem)
  const curOk = matches(cur?.key, t.encryptPublicKey)
  const prevOk = matches(prev?.key, t.encryptPublicKey)
  let old: KeyObject
  let oldPem: Buffer
  /** .previous must be (re)written from the old key before anything else changes */
  let writePrevious = false
  if (prev?.key && cur?.key && !cur.pem.equals(prev.pem) && curOk) {
    // committed by an interrupted run: only the caches, the check and the clean-up are left
    o.resumed = true
    if (input.dryRun) {
      o.status = 'would-rotate'
      return
    }
    await finish(deps, t, cur.key, o, columns)
    return
  }
  if (prevOk) {
    // the old key saved by an interrupted run: private.pem may be missing, torn, or an uncommitted new key
    o.resumed = !cur || !cur.pem.equals(prev!.pem)
    if (o.resumed && !cur?.key) o.recoveredFrom = prevPath
    old = prev!.key!
    oldPem = prev!.pem
  } else if (curOk && (!prev || !prev.key)) {
    // no .previous, or a torn one (a crash while it was being copied): start (again) from private.pem
    old = cur!.key!
    oldPem = cur!.pem
    writePrevious = true
    if (prev) o.resumed = true
  } else {
    throw new TenantFailure(keyProblem(t, path, prevPath, cur, prev))
  }
  if (input.dryRun) {
    const { byTenant } = await census(deps.db, [t], () => old, { columns })
    for (const c of byTenant.get(t.id)!) {
      o.reencrypted += c.values - c.undecryptable
      if (c.undecryptable)
        o.undecryptable.push({ table: c.table, column: c.column, values: c.undecryptable, rowIds: c.failedRowIds })
    }
    o.status = 'would-rotate'
    return
  }
  if (writePrevious) await writeKeyCopy(deps.storage, prevPath, oldPem, path)
  const kp = await (input.generate ?? generateTenantKeyPair)()
  const newPub = parsePublicKey(kp.publicPem)
  let wroteKey = false
  try {
    await anyDb(deps.db)
      .transaction()
      .execute(async (tx) => {
        const locked = (await tx
          .selectFrom('tenants')
          .select('encrypt_public_key')
          .where('id', '=', t.id)
          .forUpdate()
          .executeTakeFirst()) as { encrypt_public_key: string | null } | undefined
        if (!locked || locked.encrypt_public_key !== t.encryptPublicKey)
          throw new TenantFailure('the tenant changed while rotating; run again')
        for (const col of columns) {
          const bad: UndecryptableValues = { table: col.table, column: col.column, values: 0, rowIds: [] }
          for await (const page of scanColumn(deps.db, col, { tenantIds: [t.id], k: tx, pageSize: 500 })) {
            for (const row of page) {
              const { tokens } = extractTokens(col, row.raw)
              if (!tokens.length) continue
              let rowBad = 0
              const next = replaceTokens(col, row.raw!, (token) => {
                try {
                  const plain = decryptToken(token, old)
                  o.reencrypted++
                  return encryptToken(plain, newPub)
                } catch (e) {
                  if (!(e instanceof DecryptError)) throw e
                  rowBad++
                  return input.dropUndecryptable ? '' : undefined
                }
              })
              if (rowBad) {
                bad.values += rowBad
                if (bad.rowIds.length < MAX_LISTED_IDS) bad.rowIds.push(row.id)
              }
              if (rowBad && input.dropUndecryptable && col.format === 'token') {
                await tx.deleteFrom(col.table).where('id', '=', row.id).execute()
                o.dropped += rowBad
                continue
              }
              if (rowBad && input.dropUndecryptable) o.dropped += rowBad
              if (next !== row.raw)
                await tx
                  .updateTable(col.table)
                  .set({ [col.column]: next })
                  .where('id', '=', row.id)
                  .execute()
            }
          }
          if (bad.values && !input.dropUndecryptable) o.undecryptable.push(bad)
        }
        await tx.updateTable('tenants').set({ encrypt_public_key: kp.publicPem }).where('id', '=', t.id).execute()
        wroteKey = true
        // atomic (temporary file + rename): a concurrent reader sees the old key or the new one, never half of one
        await writeKeyFile(deps.storage, path, kp.privatePem)
      })
  } catch (e) {
    // not committed: the database still has the old public key and the old tokens
    // (private.pem may also hold an uncommitted key of an interrupted run, or be torn): put the old key back, then drop .previous
    if (wroteKey || !curPem || !curPem.equals(oldPem)) await writeKeyFile(deps.storage, path, oldPem)
    await deps.storage.delete(prevPath)
    throw e
  }
  await finish(deps, t, parsePrivateKey(kp.privatePem), o, columns)
}

/** why a tenant's stored keys do not allow a rotation, naming both files */
function keyProblem(
  t: TenantRow,
  path: string,
  prevPath: string,
  cur: StoredKey | undefined,
  prev: StoredKey | undefined,
): string {
  const state = (k: StoredKey | undefined, p: string) =>
    !k
      ? `${p} does not exist`
      : !k.key
        ? `${p} does not parse (${k.error})`
        : `${p} does not match tenants.encrypt_public_key`
  if (!t.encryptPublicKey) return `tenants.encrypt_public_key is empty; ${state(cur, path)}`
  const hint = prev
    ? 'resolve by hand (dify encryption check, dify encryption restore-key --file <a key that matches>)'
    : 'there is no private.pem.previous to recover from; restore the key with dify encryption restore-key (--backup <UTC> or --file), or reset the tenant'
  return `${state(cur, path)} and ${prev ? state(prev, prevPath) : `${prevPath} does not exist`}: ${hint}`
}

/**
 * after the commit: flush the private-key cache (the credential caches still hold the right plaintext; the final pass
 * deletes them for every rotated tenant in one SCAN), prove the values decrypt with the new key, drop the old key
 */
async function finish(
  deps: Deps,
  t: TenantRow,
  key: KeyObject,
  o: RotateOutcome,
  columns: readonly EncryptedColumn[],
): Promise<void> {
  try {
    const r = await deps.redis()
    await r.client.del(keys.tenantPrivkey(t.id, r.keyPrefix))
  } catch {
    /* reported by the final pass */
  }
  const { byTenant } = await census(deps.db, [t], () => key, { columns })
  const left = byTenant.get(t.id)!.reduce((a, c) => a + c.undecryptable, 0)
  const expected = o.undecryptable.reduce((a, u) => a + u.values, 0)
  if (!o.resumed && left !== expected) {
    throw new TenantFailure(
      `after the commit ${left} value(s) do not decrypt with the new key (expected ${expected}); the old key is kept as ${privateKeyPreviousPath(t.id)}`,
    )
  }
  if (o.resumed && left) {
    for (const c of byTenant.get(t.id)!)
      if (c.undecryptable)
        o.undecryptable.push({ table: c.table, column: c.column, values: c.undecryptable, rowIds: c.failedRowIds })
  }
  await deps.storage.delete(privateKeyPreviousPath(t.id))
  o.status = 'rotated'
}
