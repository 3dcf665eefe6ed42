import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { encryptToken, generateTenantKeyPair } from '../../../src/crypto/tenant-key.js'
import { keys, privateKeyPath, privateKeyPreviousPath } from '../../../src/dify/keys.js'
import { BIN, runCli } from '../../support/cli.js'
import { dumpTables, encryptionEnv, type EncryptionEnv } from '../../support/encryption-env.js'
import { pyJson, type SeededTenant } from '../../support/encryption-seed.js'
import { lostSecrets, maskedColumns } from '../../support/encryption-verify.js'

describe('dify encryption rotate (PostgreSQL, Dify 1.12 schema)', () => {
  let e: EncryptionEnv
  let t: SeededTenant[]
  const foreign: { ext: string; tool: string } = { ext: randomUUID(), tool: randomUUID() }
  beforeAll(async () => {
    e = await encryptionEnv('encrotate')
    t = await e.seed(3)
    // two values of tenant 0 that were encrypted with some other key: they cannot be recovered
    const other = await generateTenantKeyPair()
    await e.pg.query(
      `insert into api_based_extensions (id, tenant_id, name, api_endpoint, api_key) values ($1, $2, 'lost', 'https://x', $3)`,
      [foreign.ext, t[0]!.id, encryptToken('lost-1', other.publicPem)],
    )
    await e.pg.query(
      `insert into tool_builtin_providers (id, tenant_id, user_id, provider, name, encrypted_credentials) values ($1, $2, $3, 'p/lost', 'K', $4)`,
      [
        foreign.tool,
        t[0]!.id,
        randomUUID(),
        pyJson({ api_key: encryptToken('lost-2', other.publicPem), region: 'us' }),
      ],
    )
    await e.redis.client.set(keys.tenantPrivkey(t[1]!.id, e.redis.prefix), 'old pem')
  }, 60_000)
  afterAll(async () => e?.close())

  it('--dry-run reports and writes nothing anywhere', async () => {
    const before = {
      db: await dumpTables(e),
      storage: e.storageSnapshot(),
      redis: await e.redis.client.keys(`${e.redis.prefix}*`),
    }
    const r = await runCli(['encryption', 'rotate', '--dry-run', '--json', '--verbose'], { env: e.env })
    expect(r.code).toBe(8)
    expect(r.json.summary).toMatchObject({ tenants: 3, rotated: 3, failed: 0, reencrypted: 60, undecryptable: 2 })
    const o0 = r.json.outcomes.find((o: any) => o.tenantId === t[0]!.id)
    expect(o0.undecryptable.map((u: any) => [u.table, u.rowIds])).toEqual([
      ['tool_builtin_providers', [foreign.tool]],
      ['api_based_extensions', [foreign.ext]],
    ])
    expect(await dumpTables(e)).toEqual(before.db)
    expect(e.storageSnapshot()).toEqual(before.storage)
    expect(await e.redis.client.keys(`${e.redis.prefix}*`)).toEqual(before.redis)
  })

  it('rotates: every secret decrypts to its old value with the new key, other bytes unchanged, undecryptable reported', async () => {
    const masked = await maskedColumns(e)
    const oldKeys = t.map((x) => e.readKey(privateKeyPath(x.id)))
    const r = await runCli(['encryption', 'rotate', '--yes', '--json'], { env: e.env })
    expect(r.code).toBe(8)
    expect(r.json.summary).toMatchObject({
      tenants: 3,
      rotated: 3,
      failed: 0,
      reencrypted: 60,
      undecryptable: 2,
      dropped: 0,
    })
    t.forEach((x, i) => expect(e.readKey(privateKeyPath(x.id))).not.toBe(oldKeys[i]))
    for (const x of t) expect(existsSync(join(e.storageRoot, privateKeyPreviousPath(x.id)))).toBe(false)
    expect(await lostSecrets(e, t)).toEqual([])
    expect(await maskedColumns(e)).toEqual(masked)
    expect(await e.redis.client.exists(keys.tenantPrivkey(t[1]!.id, e.redis.prefix))).toBe(0)
    const c = await runCli(['encryption', 'check', '--json'], { env: e.env })
    expect(c.json.summary).toMatchObject({ keyProblems: 0, values: 62, undecryptable: 2 })
  })

  it('--drop-undecryptable removes what cannot be recovered; check passes afterwards', async () => {
    const r = await runCli(['encryption', 'rotate', '--tenant', t[0]!.id, '--drop-undecryptable', '--yes', '--json'], {
      env: e.env,
    })
    expect(r.code).toBe(0)
    expect(r.json.summary).toMatchObject({ rotated: 1, reencrypted: 20, dropped: 2 })
    expect(
      (await e.pg.query('select count(*)::int n from api_based_extensions where id = $1', [foreign.ext])).rows[0].n,
    ).toBe(0)
    expect(
      (await e.pg.query('select encrypted_credentials from tool_builtin_providers where id = $1', [foreign.tool]))
        .rows[0].encrypted_credentials,
    ).toBe('{"api_key": "", "region": "us"}')
    expect((await runCli(['encryption', 'check'], { env: e.env })).code).toBe(0)
    expect(await lostSecrets(e, t)).toEqual([])
  })

  it('a rerun finishes after a crash inside the transaction (private.pem holds an uncommitted key)', async () => {
    const x = t[1]!
    const current = e.readKey(privateKeyPath(x.id))!
    e.writeKey(privateKeyPreviousPath(x.id), current)
    e.writeKey(privateKeyPath(x.id), (await generateTenantKeyPair()).privatePem)
    const r = await runCli(['encryption', 'rotate', '--tenant', x.id, '--yes', '--json'], { env: e.env })
    expect(r.code).toBe(0)
    expect(r.json.outcomes[0]).toMatchObject({ status: 'rotated', resumed: true, reencrypted: 20 })
    expect(existsSync(join(e.storageRoot, privateKeyPreviousPath(x.id)))).toBe(false)
    expect(await lostSecrets(e, t)).toEqual([])
  })
})

describe('dify encryption rotate killed with SIGKILL, then run again', () => {
  let e: EncryptionEnv
  let t: SeededTenant[]
  beforeAll(async () => {
    e = await encryptionEnv('enckill')
    t = await e.seed(8)
  }, 60_000)
  afterAll(async () => e?.close())

  it('loses no secret', async () => {
    const delay = 800 + Math.floor(Math.random() * 2500)
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...e.env,
    }
    const child = spawn(process.execPath, [BIN, 'encryption', 'rotate', '--yes', '--concurrency', '2'], {
      env,
      stdio: 'ignore',
    })
    const killed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(child.kill('SIGKILL')), delay)
      child.on('exit', () => {
        clearTimeout(timer)
        resolve(false)
      })
    })
    console.info(`rotate ${killed ? `killed after ${delay} ms` : 'finished before the kill'}`)
    const r = await runCli(['encryption', 'rotate', '--yes', '--json'], { env: e.env })
    expect(r.code).toBe(0)
    expect(r.json.summary).toMatchObject({ tenants: 8, rotated: 8, failed: 0 })
    for (const x of t) expect(existsSync(join(e.storageRoot, privateKeyPreviousPath(x.id)))).toBe(false)
    expect(await lostSecrets(e, t)).toEqual([])
    expect((await runCli(['encryption', 'check'], { env: e.env })).code).toBe(0)
  }, 120_000)
})
