/**
 * Every location of src/dify/encrypted-columns.ts, seeded with keys and tokens made by PyCryptodome in the value shapes
 * Dify writes (including the two #17 found missing: trace_app_config.tracing_config and the secret tool parameters in
 * app_model_configs.agent_mode, whose tenant is their app's, and a legacy bare-token provider_credentials value):
 * `check` counts them, `rotate` re-encrypts them, and PyCryptodome decrypts every one with the new key.
 * Before the fix, check counted 20 of 27 values per tenant and rotate left the others readable only by the old key.
 *
 * 1.12 (PG oracle, MariaDB createDifySchema) through the CLI; 1.15.0 on both dialects and MariaDB 1.10.1 through the domain functions
 * (the CLI's release window is being widened elsewhere).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Runtime } from '../../../src/runtime/index.js'
import { checkEncryption } from '../../../src/encryption/check.js'
import { rotateKeys } from '../../../src/encryption/rotate.js'
import { planReset } from '../../../src/encryption/reset.js'
import { runCli } from '../../support/cli.js'
import { configFromVars } from '../../support/config.js'
import { encryptionEnv, type EncryptionEnv } from '../../support/encryption-env.js'
import { seedAppLocations, type SeededTenant } from '../../support/encryption-seed.js'
import { pyEncrypt, pyGenerate, pyLostSecrets } from '../../support/encryption-py.js'
import { hasPyCryptodome } from '../../support/pycryptodome.js'

/** 20 values of seedTenants + 2 tracing keys + 2 × 2 agent tool secrets + 1 legacy provider token */
const PER_TENANT = 27

const cases: Array<{ name: string; dialect: 'postgres' | 'mysql'; release?: string; cli: boolean }> = [
  { name: 'PostgreSQL, Dify 1.12.1', dialect: 'postgres', cli: true },
  { name: 'MariaDB, Dify 1.12 schema', dialect: 'mysql', cli: true },
  { name: 'PostgreSQL, Dify 1.15.0', dialect: 'postgres', release: '1.15.0', cli: false },
  { name: 'MariaDB, Dify 1.15.0', dialect: 'mysql', release: '1.15.0', cli: false },
  { name: 'MariaDB, Dify 1.10.1 (the first MySQL release)', dialect: 'mysql', release: '1.10.1', cli: false },
]

describe.skipIf(!hasPyCryptodome()).each(cases)('every tenant-key location: $name', ({ dialect, release, cli }) => {
  let e: EncryptionEnv
  let t: SeededTenant[]
  let rt: Runtime
  const deps = async () => ({ db: await rt.db(), storage: await rt.storage(), redis: () => rt.redis() })
  beforeAll(async () => {
    e = await encryptionEnv(`encloc${dialect[0]}${release ? release.replace(/\./g, '') : ''}`, dialect, { release })
    t = await e.seed(2, { generate: pyGenerate, encrypt: pyEncrypt })
    await seedAppLocations(e.sink, t, { encrypt: pyEncrypt, legacyProviderToken: true })
    rt = new Runtime(configFromVars(e.env))
  }, 240_000)
  afterAll(async () => {
    await rt?.close()
    await e?.close()
  })

  it("check counts every value, the app-owned ones under the app's tenant", async () => {
    const res = cli
      ? (await runCli(['encryption', 'check', '--json'], { env: e.env })).json
      : await checkEncryption(await deps())
    expect(res.summary).toMatchObject({ tenants: 2, tenantsOk: 2, values: 2 * PER_TENANT, undecryptable: 0 })
    for (const x of res.tenants) {
      const cols = Object.fromEntries(x.columns.map((c: any) => [`${c.table}.${c.column}`, c.values]))
      expect(cols).toMatchObject({
        'trace_app_config.tracing_config': 2,
        'app_model_configs.agent_mode': 4,
        'provider_credentials.encrypted_config': 3,
      })
    }
  })

  it('reset --dry-run lists them among the values that become unreadable', async () => {
    const plan = cli
      ? (await runCli(['reset-encrypt-key-pair', '--dry-run', '--json'], { env: e.env })).json
      : await planReset(await deps(), { edition: 'SELF_HOSTED' })
    const unreadable = Object.fromEntries(
      plan.tenants[0].unreadable.map((u: any) => [`${u.table}.${u.column}`, u.values]),
    )
    expect(unreadable).toMatchObject({ 'trace_app_config.tracing_config': 2, 'app_model_configs.agent_mode': 4 })
  })

  it('rotate re-encrypts every value; PyCryptodome decrypts each with the new key', async () => {
    const res = cli
      ? (await runCli(['encryption', 'rotate', '--yes', '--json'], { env: e.env })).json
      : await rotateKeys(await deps(), {})
    expect(res.summary).toMatchObject({
      tenants: 2,
      rotated: 2,
      failed: 0,
      reencrypted: 2 * PER_TENANT,
      undecryptable: 0,
    })
    expect(await pyLostSecrets(e, t)).toEqual([])
    const after = cli
      ? (await runCli(['encryption', 'check', '--json'], { env: e.env })).json
      : await checkEncryption(await deps())
    expect(after.summary).toMatchObject({ tenantsOk: 2, values: 2 * PER_TENANT, undecryptable: 0 })
  }, 120_000)
})
