/**
 * Real --json output of the commands that need Dify's schema (accounts, encryption, db, vdb, doctor), validated
 * against the committed schema snapshots (test/fixtures/json-schema/). In-process from the sources, no build; a
 * Dify 1.12 PostgreSQL database with seeded tenants and an account, a Redis key space and an OpenDAL fs storage root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runInProcess } from '../../support/in-process.js'
import { validateJson } from '../../support/json-schema.js'
import { encryptionEnv, type EncryptionEnv } from '../../support/encryption-env.js'
import { seedAccount, seedDb, seedTenant } from '../../support/dify-accounts.js'
import { pgvectorVars } from '../../support/pgvector.js'
import AccountList from '../../../commands/account/list.js'
import AccountShow from '../../../commands/account/show.js'
import AccountBan from '../../../commands/account/ban.js'
import AccountUnban from '../../../commands/account/unban.js'
import AccountUnlock from '../../../commands/account/unlock.js'
import ResetPassword from '../../../commands/reset-password.js'
import ResetEmail from '../../../commands/reset-email.js'
import ResetEncryptKeyPair from '../../../commands/reset-encrypt-key-pair.js'
import EncryptionCheck from '../../../commands/encryption/check.js'
import EncryptionRotate from '../../../commands/encryption/rotate.js'
import DbStatus from '../../../commands/db/status.js'
import DbUpgrade from '../../../commands/db/upgrade.js'
import DbStamp from '../../../commands/db/stamp.js'
import VdbCheck from '../../../commands/vdb/check.js'
import VdbRepair from '../../../commands/vdb/repair.js'
import Doctor from '../../../commands/doctor.js'
import RestoreKey from '../../../commands/encryption/restore-key.js'
import VdbMigrate from '../../../commands/vdb-migrate.js'
import VdbShow from '../../../commands/vdb/show.js'
import { DifySeeder } from '../../support/vdb-seed.js'
import { join } from 'node:path'

let e: EncryptionEnv
let env: Record<string, string>
let tenantId: string
const EMAIL = 'shape@example.com'

beforeAll(async () => {
  e = await encryptionEnv('jsonshapesdify')
  tenantId = (await e.seed(2))[0]!.id
  const db = await seedDb('postgres', e.db.name)
  try {
    const a = await seedAccount(db, { email: EMAIL })
    await seedTenant(db, 'shapes', [{ accountId: a.id, role: 'owner', current: true }])
  } finally {
    await db.close()
  }
  env = { ...e.env, VECTOR_STORE: 'pgvector', ...pgvectorVars(e.db.name) }
}, 120_000)

afterAll(async () => {
  await e?.close()
})

type Row = [file: string, cmd: Parameters<typeof runInProcess>[0], argv: string[], codes?: number[]]

describe('--json output matches the schema snapshot (Dify schema)', () => {
  it.each<Row>([
    ['account-list.json', AccountList, []],
    ['account-show.json', AccountShow, [EMAIL]],
    ['account-ban.json', AccountBan, [EMAIL, '--dry-run']],
    ['account-unban.json', AccountUnban, [EMAIL, '--dry-run']],
    ['account-unlock.json', AccountUnlock, [EMAIL, '--dry-run']],
    ['reset-password.json', ResetPassword, ['--email', EMAIL, '--generate', '--dry-run']],
    ['reset-email.json', ResetEmail, ['--email', EMAIL, '--new-email', 'other@example.com', '--dry-run']],
    ['encryption-check.json', EncryptionCheck, [], [0, 8]],
    ['encryption-rotate.json', EncryptionRotate, ['--dry-run'], [0, 7]], // 7: the account's workspace has no key pair
    ['reset-encrypt-key-pair.json', ResetEncryptKeyPair, ['--dry-run']],
    ['db-status.json', DbStatus, []],
    ['db-upgrade.json', DbUpgrade, ['--dry-run']],
    ['db-stamp.json', DbStamp, ['head', '--dry-run']],
    ['vdb-check.json', VdbCheck, [], [0, 8]],
    ['vdb-repair.json', VdbRepair, ['--delete-orphans', '--dry-run']],
    ['doctor.json', Doctor, ['--timeout', '3'], [0, 8]],
    ['vdb-migrate.json', VdbMigrate, ['--dry-run']],
  ])('%s', async (file, cmd, argv, codes = [0]) => {
    const r = await runInProcess(cmd, [...argv, '--json'], { env })
    expect(codes, r.stdout + r.stderr).toContain(r.code)
    expect(r.json?.error, r.stdout + r.stderr).toBeUndefined()
    expect(validateJson(file, r.json)).toEqual([])
  })

  it('encryption-restore-key.json (the key already in place)', async () => {
    const file = join(e.storageRoot, 'privkeys', tenantId, 'private.pem')
    const r = await runInProcess(RestoreKey, ['--tenant', tenantId, '--file', file, '--dry-run', '--json'], { env })
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(validateJson('encryption-restore-key.json', r.json)).toEqual([])
  })

  it('vdb-show.json (a dataset whose collection the store does not have)', async () => {
    const seed = new DifySeeder(e.pg)
    const ds = await seed.dataset()
    const doc = await seed.document(ds)
    await seed.segment(ds, doc, 'hello')
    const r = await runInProcess(VdbShow, [ds, '--json'], { env })
    expect([0, 8], r.stdout + r.stderr).toContain(r.code)
    expect(validateJson('vdb-show.json', r.json)).toEqual([])
  })
})
