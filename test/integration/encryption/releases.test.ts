/**
 * The list of tenant-key locations per Dify release (src/dify/encrypted-columns.ts), checked against each release's own
 * schema (test/support/oracles.ts), and the encryption operations on releases other than 1.12:
 * - since/until of every location match the column's existence in the release schemas (PG 1.0.0 … 1.15.0, MySQL);
 * - Dify 1.6.0 (PG): providers/provider_models.encrypted_config, including the legacy bare-token form, plus the
 *   app-owned locations: check counts, rotate re-encrypts, PyCryptodome decrypts with the new key;
 * - reset on 1.15.0 deletes the tool-provider rows as Dify's own command does from 1.14.2; on 1.14.0 it keeps them.
 * Domain functions (the CLI's release window is being widened elsewhere).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomUUID } from 'node:crypto'
import { TENANT_ENCRYPTED_COLUMNS, resetDeletesFor } from '../../../src/dify/encrypted-columns.js'
import { compareVersions } from '../../../src/dify/releases.js'
import { Runtime } from '../../../src/runtime/index.js'
import { checkEncryption } from '../../../src/encryption/check.js'
import { rotateKeys } from '../../../src/encryption/rotate.js'
import { executeReset, planReset } from '../../../src/encryption/reset.js'
import { privateKeyPath } from '../../../src/dify/keys.js'
import { configFromVars } from '../../support/config.js'
import { encryptionEnv, type EncryptionEnv } from '../../support/encryption-env.js'
import { pyJson, seedAppLocations, type SeededTenant } from '../../support/encryption-seed.js'
import { pyEncrypt, pyGenerate, pyLostSecrets } from '../../support/encryption-py.js'
import { hasPyCryptodome } from '../../support/pycryptodome.js'
import { releaseSchema } from '../../support/oracles.js'

const NOW = '2026-01-01 00:00:00'

describe("the location list matches each release's schema", () => {
  const pgReleases = ['1.0.0', '1.6.0', '1.7.2', '1.8.0', '1.9.0', '1.10.0', '1.12.1', '1.14.1', '1.15.0']
  const myReleases = ['1.10.1', '1.15.0']
  it.each([...pgReleases.map((r) => ['postgres', r] as const), ...myReleases.map((r) => ['mysql', r] as const)])(
    '%s %s',
    async (dialect, release) => {
      const schema = await releaseSchema(dialect, release)
      const has = (t: string, c: string) =>
        schema.tables.some((x) => x.name === t && x.columns.some((y) => y.name === c))
      for (const c of TENANT_ENCRYPTED_COLUMNS) {
        const expected = compareVersions(release, c.since) >= 0 && (!c.until || compareVersions(release, c.until) <= 0)
        expect([c.table, c.column, has(c.table, c.column)]).toEqual([c.table, c.column, expected])
        if (c.tenantVia === 'app') expect(has(c.table, 'app_id') && has('apps', 'tenant_id')).toBe(true)
        else if (expected) expect(has(c.table, 'tenant_id')).toBe(true)
      }
    },
    120_000,
  )

  it('what reset deletes, per release', () => {
    const tables = (v: string | null) => resetDeletesFor(v).map((d) => d.table)
    expect(tables('1.12.0')).toEqual([
      'providers',
      'provider_models',
      'provider_credentials',
      'provider_model_credentials',
      'load_balancing_model_configs',
    ])
    expect(tables('1.14.0')).not.toContain('tool_builtin_providers')
    expect(tables(null)).not.toContain('tool_api_providers')
    expect(tables('1.14.1')).toEqual(
      expect.arrayContaining(['tool_builtin_providers', 'tool_api_providers', 'tool_mcp_providers']),
    )
    expect(tables('1.15.0')).toEqual(
      expect.arrayContaining(['tool_builtin_providers', 'tool_api_providers', 'tool_mcp_providers']),
    )
  })
})

describe.skipIf(!hasPyCryptodome())(
  'Dify 1.6.0 (PostgreSQL): providers.encrypted_config and provider_models.encrypted_config',
  () => {
    let e: EncryptionEnv
    let rt: Runtime
    const t: SeededTenant[] = []
    const deps = async () => ({ db: await rt.db(), storage: await rt.storage(), redis: () => rt.redis() })
    beforeAll(async () => {
      e = await encryptionEnv('encrel160', 'postgres', { release: '1.6.0' })
      for (let n = 0; n < 2; n++) {
        const keys = await pyGenerate()
        const id = randomUUID()
        const x: SeededTenant = { id, keys, secrets: [] }
        const tok = (table: string, column: string, rowId: string, label: string) => {
          const plaintext = `${label}-${n}`
          x.secrets.push({ table, column, id: rowId, tenantId: id, plaintext })
          return pyEncrypt(plaintext, keys.publicPem)
        }
        await e.sink.insert('tenants', [
          { id, name: `old ${n}`, encrypt_public_key: keys.publicPem, created_at: NOW, updated_at: NOW },
        ])
        const [p1, p2, p3, pm, ext] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()]
        await e.sink.insert('providers', [
          {
            id: p1,
            tenant_id: id,
            provider_name: 'langgenius/anthropic/anthropic',
            provider_type: 'custom',
            is_valid: true,
            encrypted_config: pyJson({
              anthropic_api_key: tok('providers', 'encrypted_config', p1, 'sk-ant'),
              anthropic_api_url: 'https://api.anthropic.com',
            }),
            created_at: NOW,
            updated_at: NOW,
          },
          // Dify's "origin data": the whole value is the OpenAI key's token (read as {"openai_api_key": value})
          {
            id: p2,
            tenant_id: id,
            provider_name: 'openai',
            provider_type: 'custom',
            is_valid: true,
            encrypted_config: tok('providers', 'encrypted_config', p2, 'sk-legacy'),
            created_at: NOW,
            updated_at: NOW,
          },
          {
            id: p3,
            tenant_id: id,
            provider_name: 'langgenius/openai/openai',
            provider_type: 'system',
            is_valid: true,
            encrypted_config: null,
            created_at: NOW,
            updated_at: NOW,
          },
        ])
        await e.sink.insert('provider_models', [
          {
            id: pm,
            tenant_id: id,
            provider_name: 'langgenius/azure_openai/azure_openai',
            model_name: 'gpt-4o',
            model_type: 'text-generation',
            is_valid: true,
            encrypted_config: pyJson({
              openai_api_key: tok('provider_models', 'encrypted_config', pm, 'azure'),
              base_model_name: 'gpt-4o',
            }),
            created_at: NOW,
            updated_at: NOW,
          },
        ])
        await e.sink.insert('api_based_extensions', [
          {
            id: ext,
            tenant_id: id,
            name: 'ext',
            api_endpoint: 'https://x',
            api_key: tok('api_based_extensions', 'api_key', ext, 'ext'),
            created_at: NOW,
          },
        ])
        e.writeKey(privateKeyPath(id), keys.privatePem)
        t.push(x)
      }
      await seedAppLocations(e.sink, t, { encrypt: pyEncrypt })
      rt = new Runtime(configFromVars(e.env))
    }, 240_000)
    afterAll(async () => {
      await rt?.close()
      await e?.close()
    })

    it('check counts the 1.6.0 locations (providers JSON + legacy token, provider_models, app-owned)', async () => {
      const res = await checkEncryption(await deps())
      expect(res.summary).toMatchObject({ tenants: 2, tenantsOk: 2, values: 2 * 10, undecryptable: 0 })
      expect(res.missingTables).toEqual(
        expect.arrayContaining(['provider_credentials', 'trigger_subscriptions', 'datasource_providers']),
      )
      const cols = Object.fromEntries(res.tenants[0]!.columns.map((c) => [`${c.table}.${c.column}`, c.values]))
      expect(cols).toEqual({
        'providers.encrypted_config': 2,
        'provider_models.encrypted_config': 1,
        'api_based_extensions.api_key': 1,
        'trace_app_config.tracing_config': 2,
        'app_model_configs.agent_mode': 4,
      })
    })

    it('reset plan: custom providers and provider_models deleted (as Dify 1.6.0), the rest listed as unreadable', async () => {
      const plan = await planReset(await deps(), { edition: 'SELF_HOSTED' })
      expect(plan.difyVersion).toBe('1.6.0')
      const p = plan.tenants[0]!
      expect(Object.fromEntries(p.deletes.map((d) => [d.table, d.rows]))).toEqual({ providers: 2, provider_models: 1 })
      expect(Object.fromEntries(p.unreadable.map((u) => [`${u.table}.${u.column}`, u.values]))).toEqual({
        'api_based_extensions.api_key': 1,
        'trace_app_config.tracing_config': 2,
        'app_model_configs.agent_mode': 4,
      })
    })

    it('rotate re-encrypts them all (the legacy token stays a bare token); PyCryptodome decrypts each with the new key', async () => {
      const res = await rotateKeys(await deps(), {})
      expect(res.summary).toMatchObject({ rotated: 2, failed: 0, reencrypted: 20, undecryptable: 0 })
      expect(await pyLostSecrets(e, t)).toEqual([])
      const legacy = t[0]!.secrets.find((s) => s.plaintext.startsWith('sk-legacy'))!
      const raw = (await e.query(`select encrypted_config from providers where id = $1`, [legacy.id]))[0]
        .encrypted_config as string
      expect(raw.startsWith('{')).toBe(false)
    }, 120_000)
  },
)

describe("reset on Dify 1.15.0 deletes the tool providers, as Dify's own command does from 1.14.2", () => {
  let e: EncryptionEnv
  let rt: Runtime
  let t: SeededTenant[]
  const deps = async () => ({ db: await rt.db(), storage: await rt.storage(), redis: () => rt.redis() })
  beforeAll(async () => {
    e = await encryptionEnv('encrel1150', 'postgres', { release: '1.15.0' })
    t = await e.seed(2)
    rt = new Runtime(configFromVars(e.env))
  }, 240_000)
  afterAll(async () => {
    await rt?.close()
    await e?.close()
  })

  it('plans and deletes tool_builtin_providers, tool_api_providers and tool_mcp_providers rows of the tenant', async () => {
    const input = { edition: 'SELF_HOSTED', tenantIds: [t[0]!.id] }
    const plan = await planReset(await deps(), input)
    expect(plan.difyVersion).toBe('1.15.0')
    expect(plan.deletesFrom.filter((d) => d.dify).map((d) => d.table)).toEqual([
      'providers',
      'provider_models',
      'tool_builtin_providers',
      'tool_api_providers',
      'tool_mcp_providers',
    ])
    const p = plan.tenants[0]!
    expect(Object.fromEntries(p.deletes.map((d) => [d.table, d.rows]))).toMatchObject({
      tool_builtin_providers: 1,
      tool_api_providers: 1,
      tool_mcp_providers: 1,
    })
    expect(p.unreadable.map((u) => u.table)).not.toContain('tool_mcp_providers')
    const res = await executeReset(await deps(), plan, input)
    expect(res.summary).toMatchObject({ reset: 1, failed: 0 })
    expect(res.outcomes[0]!.deleted).toMatchObject({
      tool_builtin_providers: 1,
      tool_api_providers: 1,
      tool_mcp_providers: 1,
    })
    for (const table of ['tool_builtin_providers', 'tool_api_providers', 'tool_mcp_providers']) {
      expect((await e.query(`select tenant_id from ${table}`)).map((r) => r.tenant_id)).toEqual([t[1]!.id])
    }
  }, 120_000)
})
