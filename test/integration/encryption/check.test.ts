import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encryptToken, generateTenantKeyPair } from '../../../src/crypto/tenant-key.js'
import { privateKeyPath } from '../../../src/dify/keys.js'
import { runCli } from '../../support/cli.js'
import { encryptionEnv, type EncryptionEnv } from '../../support/encryption-env.js'
import type { SeededTenant } from '../../support/encryption-seed.js'

describe('dify encryption check (PostgreSQL, Dify 1.12 schema)', () => {
  let e: EncryptionEnv
  let tenants: SeededTenant[]
  beforeAll(async () => {
    e = await encryptionEnv('enccheck')
    tenants = await e.seed(3)
  }, 60_000)
  afterAll(async () => e?.close())

  it('all keys present and every secret of every §5 column decrypts: exit 0', async () => {
    const r = await runCli(['encryption', 'check', '--json'], { env: e.env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.json.ok).toBe(true)
    expect(r.json.summary).toMatchObject({ tenants: 3, tenantsOk: 3, keyProblems: 0, values: 60, undecryptable: 0 })
    const t0 = r.json.tenants.find((t: any) => t.tenantId === tenants[0]!.id)
    expect(t0.key.status).toBe('ok')
    // one line per §5 column, 17 in all
    expect(t0.columns).toHaveLength(17)
    expect(r.json.storage).toContain(e.storageRoot)
  })

  it('a missing key and a value from another key are reported: exit 8, --verbose lists the row', async () => {
    const [a, b] = tenants as [SeededTenant, SeededTenant]
    const saved = e.readKey(privateKeyPath(b.id))!
    const { rmSync } = await import('node:fs')
    rmSync(`${e.storageRoot}/${privateKeyPath(b.id)}`)
    const other = await generateTenantKeyPair()
    const ext = a.secrets.find((s) => s.table === 'api_based_extensions')!
    const old = (await e.pg.query('select api_key from api_based_extensions where id = $1', [ext.id])).rows[0].api_key
    await e.pg.query('update api_based_extensions set api_key = $1 where id = $2', [
      encryptToken('x', other.publicPem),
      ext.id,
    ])
    try {
      const r = await runCli(['encryption', 'check', '--json', '--verbose'], { env: e.env })
      expect(r.code).toBe(8)
      expect(r.json.summary).toMatchObject({ tenants: 3, tenantsOk: 1, keyProblems: 1, undecryptable: 21 })
      const ta = r.json.tenants.find((t: any) => t.tenantId === a.id)
      expect(ta.columns.find((c: any) => c.table === 'api_based_extensions')).toMatchObject({
        undecryptable: 1,
        failedRowIds: [ext.id],
      })
      expect(r.json.tenants.find((t: any) => t.tenantId === b.id).key.status).toBe('missing')
      const human = await runCli(['encryption', 'check', '--tenant', a.id, '--verbose'], { env: e.env })
      expect(human.code).toBe(8)
      expect(human.stdout).toContain(ext.id)
      expect(human.stdout).toContain('api_based_extensions.api_key')
      const only = await runCli(['encryption', 'check', '--tenant', tenants[2]!.id, '--json'], { env: e.env })
      expect(only.code).toBe(0)
      expect(only.json.summary.tenants).toBe(1)
    } finally {
      e.writeKey(privateKeyPath(b.id), saved)
      await e.pg.query('update api_based_extensions set api_key = $1 where id = $2', [old, ext.id])
    }
  })

  it('an unknown tenant is exit 3; a tenant id in upper case is found; a non-UUID is exit 2', async () => {
    const r = await runCli(['encryption', 'check', '--tenant', '00000000-0000-0000-0000-00000000dead'], { env: e.env })
    expect(r.code).toBe(3)
    const upper = await runCli(['encryption', 'check', '--tenant', tenants[2]!.id.toUpperCase(), '--json'], {
      env: e.env,
    })
    expect(upper.code, upper.stderr).toBe(0)
    expect(upper.json.tenants.map((t: { tenantId: string }) => t.tenantId)).toEqual([tenants[2]!.id])
    expect((await runCli(['encryption', 'check', '--tenant', 'not-a-uuid'], { env: e.env })).code).toBe(2)
  })
})
