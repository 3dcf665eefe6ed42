import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keysMatch } from '../../../src/crypto/tenant-key.js'
import { keys, privateKeyPath } from '../../../src/dify/keys.js'
import { runCli } from '../../support/cli.js'
import { dumpTables, encryptionEnv, type EncryptionEnv } from '../../support/encryption-env.js'
import type { SeededTenant } from '../../support/encryption-seed.js'

async function redisDump(e: EncryptionEnv): Promise<Record<string, string | null>> {
  const ks = (await e.redis.client.keys(`${e.redis.prefix}*`)).sort()
  const out: Record<string, string | null> = {}
  for (const k of ks) out[k] = await e.redis.client.get(k)
  return out
}

describe('dify reset-encrypt-key-pair (PostgreSQL, Dify 1.12 schema)', () => {
  let e: EncryptionEnv
  let t: SeededTenant[]
  const cacheKeys = (tid: string) => [
    keys.tenantPrivkey(tid, e.redis.prefix),
    keys.providerCredentialsCache('provider', tid, 'c1', e.redis.prefix),
    keys.toolCredentialsCache(tid, 'google', 'c2', e.redis.prefix),
    keys.triggerPropertiesCache(tid, 'gh', 's1', e.redis.prefix),
  ]
  beforeAll(async () => {
    e = await encryptionEnv('encreset')
    t = await e.seed(3)
    for (const x of t) for (const k of cacheKeys(x.id)) await e.redis.client.set(k, 'cached-plaintext')
    await e.redis.client.set(`${e.redis.prefix}unrelated`, 'keep')
  }, 60_000)
  afterAll(async () => e?.close())

  it('--dry-run lists deletions and unreadable secrets and writes nothing anywhere (DB, storage, Redis)', async () => {
    const before = { db: await dumpTables(e), storage: e.storageSnapshot(), redis: await redisDump(e) }
    const r = await runCli(['reset-encrypt-key-pair', '--dry-run', '--json'], { env: e.env })
    expect(r.code).toBe(0)
    expect(r.json.dryRun).toBe(true)
    const p = r.json.tenants.find((x: any) => x.tenantId === t[0]!.id)
    expect(p.hasPrivateKey).toBe(true)
    expect(Object.fromEntries(p.deletes.map((d: any) => [d.table, d.rows]))).toEqual({
      providers: 1,
      provider_models: 1,
      provider_credentials: 1,
      provider_model_credentials: 1,
      load_balancing_model_configs: 1,
    })
    expect(p.unreadable).toHaveLength(14)
    expect(p.unreadable.reduce((a: number, u: any) => a + u.values, 0)).toBe(15)
    const human = await runCli(['reset-encrypt-key-pair', '--dry-run', '--tenant', t[0]!.id], { env: e.env })
    expect(human.code).toBe(0)
    expect(human.stdout).toContain(`Storage: fs:`)
    expect(human.stdout).toContain('tool_mcp_providers.server_url')
    expect(human.stdout).toContain('Dry run: nothing was changed.')
    expect(await dumpTables(e)).toEqual(before.db)
    expect(e.storageSnapshot()).toEqual(before.storage)
    expect(await redisDump(e)).toEqual(before.redis)
  })

  it('refuses: without --yes and no terminal (2), outside SELF_HOSTED (4), storage without privkeys/ (4)', async () => {
    expect((await runCli(['reset-encrypt-key-pair'], { env: e.env })).code).toBe(2)
    const cloud = await runCli(['reset-encrypt-key-pair', '--yes'], { env: { ...e.env, EDITION: 'CLOUD' } })
    expect(cloud.code).toBe(4)
    expect(cloud.stderr).toContain('SELF_HOSTED')
    const empty = mkdtempSync(join(tmpdir(), 'dops-empty-'))
    try {
      const wrong = await runCli(['reset-encrypt-key-pair', '--yes'], { env: { ...e.env, OPENDAL_FS_ROOT: empty } })
      expect(wrong.code).toBe(4)
      expect(wrong.stderr).toMatch(/holds no privkeys\//)
      const forced = await runCli(['reset-encrypt-key-pair', '--force', '--dry-run', '--json'], {
        env: { ...e.env, OPENDAL_FS_ROOT: empty },
      })
      expect(forced.code).toBe(0)
      expect(forced.json.tenants[0].hasPrivateKey).toBe(false)
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })

  it("resets one tenant: new key in Dify's form, backup, orphans deleted, caches flushed, others untouched", async () => {
    const [a, b] = t as [SeededTenant, SeededTenant]
    const oldA = e.readKey(privateKeyPath(a.id))!
    const bBefore = (await dumpTables(e)).provider_credentials!.filter((r: any) => r.tenant_id === b.id)
    const r = await runCli(['reset-encrypt-key-pair', '--tenant', a.id, '--yes', '--json'], { env: e.env })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const o = r.json.outcomes[0]
    expect(o).toMatchObject({
      tenantId: a.id,
      status: 'reset',
      deleted: {
        providers: 1,
        provider_models: 1,
        provider_credentials: 1,
        provider_model_credentials: 1,
        load_balancing_model_configs: 1,
      },
    })
    expect(o.backup).toMatch(new RegExp(`^privkeys/${a.id}/private\\.pem\\.\\d{8}T\\d{6}Z\\.bak$`))
    expect(e.readKey(o.backup)).toBe(oldA)
    const newA = e.readKey(privateKeyPath(a.id))!
    expect(newA).not.toBe(oldA)
    expect(newA.startsWith('-----BEGIN RSA PRIVATE KEY-----\n') && newA.endsWith('-----END RSA PRIVATE KEY-----')).toBe(
      true,
    )
    const pub = (await e.pg.query('select encrypt_public_key from tenants where id = $1', [a.id])).rows[0]
      .encrypt_public_key
    expect(pub.endsWith('-----END PUBLIC KEY-----')).toBe(true)
    expect(keysMatch(newA, pub)).toBe(true)
    // the system provider stays, custom ones and every credential row of the tenant go
    expect((await e.pg.query('select provider_type from providers where tenant_id = $1', [a.id])).rows).toEqual([
      { provider_type: 'system' },
    ])
    for (const tb of [
      'provider_models',
      'provider_credentials',
      'provider_model_credentials',
      'load_balancing_model_configs',
    ]) {
      expect((await e.pg.query(`select count(*)::int n from ${tb} where tenant_id = $1`, [a.id])).rows[0].n).toBe(0)
    }
    expect((await dumpTables(e)).provider_credentials!.filter((r: any) => r.tenant_id === b.id)).toEqual(bBefore)
    for (const k of cacheKeys(a.id)) expect(await e.redis.client.exists(k)).toBe(0)
    for (const k of cacheKeys(b.id)) expect(await e.redis.client.exists(k)).toBe(1)
    expect(await e.redis.client.get(`${e.redis.prefix}unrelated`)).toBe('keep')
    // the key is good; the secrets left in place are reported unreadable by check
    const c = await runCli(['encryption', 'check', '--tenant', a.id, '--json'], { env: e.env })
    expect(c.code).toBe(8)
    expect(c.json.tenants[0].key.status).toBe('ok')
    expect(c.json.tenants[0].undecryptable).toBe(15)
    expect((await runCli(['encryption', 'check', '--tenant', b.id], { env: e.env })).code).toBe(0)
  })

  it('a failing transaction puts the old private key back and reports exit 7', async () => {
    const c = t[2]!
    const old = e.readKey(privateKeyPath(c.id))!
    await e.pg.query(
      `create function dops_fail() returns trigger language plpgsql as $$ begin if new.id = '${c.id}' then raise exception 'injected failure'; end if; return new; end $$`,
    )
    await e.pg.query('create trigger dops_fail before update on tenants for each row execute function dops_fail()')
    try {
      const r = await runCli(['reset-encrypt-key-pair', '--tenant', c.id, '--tenant', t[1]!.id, '--yes', '--json'], {
        env: e.env,
      })
      expect(r.code).toBe(7)
      const oc = r.json.outcomes.find((o: any) => o.tenantId === c.id)
      expect(oc.status).toBe('failed')
      expect(oc.error).toContain('injected failure')
      expect(r.json.outcomes.find((o: any) => o.tenantId === t[1]!.id).status).toBe('reset')
      expect(e.readKey(privateKeyPath(c.id))).toBe(old)
      expect(
        (await e.pg.query('select count(*)::int n from provider_credentials where tenant_id = $1', [c.id])).rows[0].n,
      ).toBe(1)
      expect((await runCli(['encryption', 'check', '--tenant', c.id], { env: e.env })).code).toBe(0)
    } finally {
      await e.pg.query('drop trigger dops_fail on tenants; drop function dops_fail()')
    }
  })
})
