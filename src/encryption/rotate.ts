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
import type { Db } from '../runtime/db.js'
import type { Storage } from '../runtime/storage.js'
import type { OpenedRedis } from '../runtime/redis.js'
import { keys, privateKeyPath, privateKeyPreviousPath } from '../dify/keys.js'
import { TENANT_ENCRYPTED_COLUMNS } from '../dify/encrypted-columns.js'
import { decryptToken, DecryptError, encryptToken, generateTenantKeyPair, keysMatch, KeyFormatError, parsePrivateKey, parsePublicKey, type TenantKeyPair } from '../crypto/index.js'
import { census, MAX_LISTED_IDS, pool } from './check.js'
import { existingTables, scanColumn } from './scan.js'
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
  error?: string
}

export interface RotateResult {
  storage: string
  dryRun: boolean
  outcomes: RotateOutcome[]
  cachesDeleted: number
  cacheError?: string
  summary: { tenants: number; rotated: number; failed: number; skipped: number; reencrypted: number; undecryptable: number; dropped: number }
}

type Deps = { db: Db; storage: Storage; redis: () => Promise<OpenedRedis> }

class TenantFailure extends Error {}

export async function rotateKeys(deps: Deps, input: RotateInput): Promise<RotateResult> {
  const tenants = await listTenants(deps.db, input.tenantIds)
  const present = await existingTables(deps.db, [...new Set(TENANT_ENCRYPTED_COLUMNS.map((c) => c.table))])
  const outcomes: RotateOutcome[] = new Array(tenants.length)
  let done = 0
  // PGlite has one connection: tenants one at a time there
  await pool(tenants, deps.db.type === 'pglite' ? 1 : Math.max(1, input.concurrency ?? 4), async (t, i) => {
    const o: RotateOutcome = { tenantId: t.id, name: t.name, status: 'failed', resumed: false, reencrypted: 0, undecryptable: [], dropped: 0 }
    try {
      await rotateTenant(deps, t, input, present, o)
    } catch (e) {
      o.status = 'failed'
      o.error = (e as Error).message.split('\n')[0]
    }
    outcomes[i] = o
    input.onTenantDone?.(++done, tenants.length)
  }, input.signal)
  tenants.forEach((t, i) => (outcomes[i] ??= { tenantId: t.id, name: t.name, status: 'skipped', resumed: false, reencrypted: 0, undecryptable: [], dropped: 0 }))
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
      reencrypted: sum((o) => o.reencrypted),
      undecryptable: sum((o) => o.undecryptable.reduce((a, u) => a + u.values, 0)),
      dropped: sum((o) => o.dropped),
    },
  }
}

const matches = (k: KeyObject | undefined, pub: string | null) => k !== undefined && keysMatch(k, pub)

function parseOrFail(pem: Buffer, what: string): KeyObject {
  try {
    return parsePrivateKey(pem)
  } catch (e) {
    if (e instanceof KeyFormatError) throw new TenantFailure(`${what} does not parse: ${e.message}`)
    throw e
  }
}

async function rotateTenant(deps: Deps, t: TenantRow, input: RotateInput, present: Set<string>, o: RotateOutcome): Promise<void> {
  const path = privateKeyPath(t.id)
  const prevPath = privateKeyPreviousPath(t.id)
  const [curPem, prevPem] = await Promise.all([deps.storage.readIfExists(path), deps.storage.readIfExists(prevPath)])
  const cur = curPem ? parseOrFail(curPem, path) : undefined
  const prev = prevPem ? parseOrFail(prevPem, prevPath) : undefined
  let old: KeyObject
  let oldPem: Buffer
  if (prevPem && cur && !curPem!.equals(prevPem) && matches(cur, t.encryptPublicKey)) {
    // committed by an interrupted run: only the caches, the check and the clean-up are left
    o.resumed = true
    if (input.dryRun) {
      o.status = 'would-rotate'
      return
    }
    await finish(deps, t, cur, o)
    return
  }
  if (prevPem && matches(prev, t.encryptPublicKey)) {
    o.resumed = !curPem || !curPem.equals(prevPem)
    old = prev!
    oldPem = prevPem
  } else if (prevPem) {
    throw new TenantFailure(`${prevPath} exists but neither it nor ${path} matches tenants.encrypt_public_key; resolve by hand (dify encryption check, restore-key)`)
  } else {
    if (!curPem) throw new TenantFailure(`${path} does not exist (restore it with dify encryption restore-key, or reset the tenant)`)
    if (!t.encryptPublicKey) throw new TenantFailure('tenants.encrypt_public_key is empty')
    if (!matches(cur, t.encryptPublicKey)) throw new TenantFailure(`${path} does not match tenants.encrypt_public_key`)
    old = cur!
    oldPem = curPem
  }
  if (input.dryRun) {
    const { byTenant } = await census(deps.db, [t], () => old)
    for (const c of byTenant.get(t.id)!) {
      o.reencrypted += c.values - c.undecryptable
      if (c.undecryptable) o.undecryptable.push({ table: c.table, column: c.column, values: c.undecryptable, rowIds: c.failedRowIds })
    }
    o.status = 'would-rotate'
    return
  }
  if (!prevPem) await deps.storage.write(prevPath, oldPem)
  const kp = await (input.generate ?? generateTenantKeyPair)()
  const newPub = parsePublicKey(kp.publicPem)
  let wroteKey = false
  try {
    await anyDb(deps.db).transaction().execute(async (tx) => {
      const locked = (await tx.selectFrom('tenants').select('encrypt_public_key').where('id', '=', t.id).forUpdate().executeTakeFirst()) as { encrypt_public_key: string | null } | undefined
      if (!locked || locked.encrypt_public_key !== t.encryptPublicKey) throw new TenantFailure('the tenant changed while rotating; run again')
      for (const col of TENANT_ENCRYPTED_COLUMNS) {
        if (!present.has(col.table)) continue
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
            if (next !== row.raw) await tx.updateTable(col.table).set({ [col.column]: next }).where('id', '=', row.id).execute()
          }
        }
        if (bad.values && !input.dropUndecryptable) o.undecryptable.push(bad)
      }
      await tx.updateTable('tenants').set({ encrypt_public_key: kp.publicPem }).where('id', '=', t.id).execute()
      wroteKey = true
      await deps.storage.write(path, kp.privatePem)
    })
  } catch (e) {
    // not committed: the database still has the old public key and the old tokens
    // (private.pem may also hold an uncommitted key of an interrupted run): put the old key back, then drop .previous
    if (wroteKey || !curPem || !curPem.equals(oldPem)) await deps.storage.write(path, oldPem)
    await deps.storage.delete(prevPath)
    throw e
  }
  await finish(deps, t, parsePrivateKey(kp.privatePem), o)
}

/**
 * after the commit: flush the private-key cache (the credential caches still hold the right plaintext; the final pass
 * deletes them for every rotated tenant in one SCAN), prove the values decrypt with the new key, drop the old key
 */
async function finish(deps: Deps, t: TenantRow, key: KeyObject, o: RotateOutcome): Promise<void> {
  try {
    const r = await deps.redis()
    await r.client.del(keys.tenantPrivkey(t.id, r.keyPrefix))
  } catch {
    /* reported by the final pass */
  }
  const { byTenant } = await census(deps.db, [t], () => key)
  const left = byTenant.get(t.id)!.reduce((a, c) => a + c.undecryptable, 0)
  const expected = o.undecryptable.reduce((a, u) => a + u.values, 0)
  if (!o.resumed && left !== expected) {
    throw new TenantFailure(`after the commit ${left} value(s) do not decrypt with the new key (expected ${expected}); the old key is kept as ${privateKeyPreviousPath(t.id)}`)
  }
  if (o.resumed && left) {
    for (const c of byTenant.get(t.id)!) if (c.undecryptable) o.undecryptable.push({ table: c.table, column: c.column, values: c.undecryptable, rowIds: c.failedRowIds })
  }
  await deps.storage.delete(privateKeyPreviousPath(t.id))
  o.status = 'rotated'
}
