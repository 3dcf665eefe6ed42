import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { privateKeyPath } from '../../../src/dify/keys.js'
import { runCli } from '../../support/cli.js'
import { dumpTables, encryptionEnv, type EncryptionEnv } from '../../support/encryption-env.js'
import type { SeededTenant } from '../../support/encryption-seed.js'
import { lostSecrets, maskedColumns } from '../../support/encryption-verify.js'

describe('encryption commands on MariaDB (Dify schema built by createDifySchema)', () => {
  let e: EncryptionEnv
  let t: SeededTenant[]
  beforeAll(async () => {
    e = await encryptionEnv('encmaria', 'mysql')
    t = await e.seed(2)
  }, 120_000)
  afterAll(async () => e?.close())

  it('check passes, reset --dry-run changes nothing', async () => {
    const c = await runCli(['encryption', 'check', '--json'], { env: e.env })
    expect(c.stderr).toBe('')
    expect(c.code).toBe(0)
    expect(c.json.summary).toMatchObject({ tenants: 2, tenantsOk: 2, values: 40, undecryptable: 0 })
    const before = { db: await dumpTables(e), storage: e.storageSnapshot() }
    const r = await runCli(['reset-encrypt-key-pair', '--dry-run', '--json'], { env: e.env })
    expect(r.code).toBe(0)
    expect(r.json.tenants[0].deletes.reduce((a: number, d: any) => a + d.rows, 0)).toBe(8) // at the head (1.15.0) Dify's reset also deletes the three tool-provider tables (1.14.2+)
    expect(await dumpTables(e)).toEqual(before.db)
    expect(e.storageSnapshot()).toEqual(before.storage)
  })

  it('rotate keeps every secret and every other byte', async () => {
    const masked = await maskedColumns(e)
    const r = await runCli(['encryption', 'rotate', '--yes', '--json'], { env: e.env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.json.summary).toMatchObject({ rotated: 2, reencrypted: 40, failed: 0 })
    expect(await lostSecrets(e, t)).toEqual([])
    expect(await maskedColumns(e)).toEqual(masked)
  })

  it('reset deletes the orphans of one tenant', async () => {
    const a = t[0]!
    const old = e.readKey(privateKeyPath(a.id))
    const r = await runCli(['reset-encrypt-key-pair', '--tenant', a.id, '--yes', '--json'], { env: e.env })
    expect(r.code).toBe(0)
    expect(r.json.outcomes[0].deleted).toEqual({
      providers: 1,
      provider_models: 1,
      provider_credentials: 1,
      provider_model_credentials: 1,
      load_balancing_model_configs: 1,
      tool_api_providers: 1,
      tool_builtin_providers: 1,
      tool_mcp_providers: 1,
    })
    expect(e.readKey(privateKeyPath(a.id))).not.toBe(old)
    const c = await runCli(['encryption', 'check', '--json'], { env: e.env })
    expect(c.code).toBe(8)
    expect(c.json.tenants.find((x: any) => x.tenantId === a.id)).toMatchObject({
      key: { status: 'ok' },
      undecryptable: 10,
    }) // 15 less the 5 secrets of the tool providers the reset deleted (1.14.2+)
    expect(c.json.tenants.find((x: any) => x.tenantId === t[1]!.id).ok).toBe(true)
  })
})
