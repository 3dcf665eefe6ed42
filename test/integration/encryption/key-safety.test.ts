/**
 * #17 hostile 6 and 7: private.pem is never half-written (temporary file + rename), rotate recovers from
 * private.pem.previous when private.pem is torn, two runs on one tenant are serialised (Redis lock + row lock), and key
 * copies are never more readable than 0600 (or the key's own mode when stricter). Real PostgreSQL, Redis, fs storage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, readdirSync, statSync, truncateSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import { keys, privateKeyPath, privateKeyPreviousPath } from '../../../src/dify/keys.js'
import { Runtime } from '../../../src/runtime/index.js'
import { rotateKeys } from '../../../src/encryption/rotate.js'
import { BIN, runCli } from '../../support/cli.js'
import { configFromVars } from '../../support/config.js'
import { encryptionEnv, type EncryptionEnv } from '../../support/encryption-env.js'
import type { SeededTenant } from '../../support/encryption-seed.js'
import { lostSecrets } from '../../support/encryption-verify.js'

const mode = (f: string) => statSync(f).mode & 0o777

describe('key files: atomic writes, recovery, serialisation, modes', () => {
  let e: EncryptionEnv
  let t: SeededTenant[]
  const file = (p: string) => join(e.storageRoot, p)
  beforeAll(async () => {
    e = await encryptionEnv('enckeysafe')
    t = await e.seed(4)
  }, 120_000)
  afterAll(async () => e?.close())

  it('a torn private.pem with a good private.pem.previous: rotate recovers from .previous and loses nothing', async () => {
    const x = t[0]!
    e.writeKey(privateKeyPreviousPath(x.id), e.readKey(privateKeyPath(x.id))!)
    truncateSync(file(privateKeyPath(x.id)), 700) // a crash in the middle of an in-place write
    const r = await runCli(['encryption', 'rotate', '--tenant', x.id, '--yes', '--json'], { env: e.env })
    expect(r.code).toBe(0)
    expect(r.json.outcomes[0]).toMatchObject({
      status: 'rotated',
      resumed: true,
      reencrypted: 20,
      recoveredFrom: privateKeyPreviousPath(x.id),
    })
    expect(existsSync(file(privateKeyPreviousPath(x.id)))).toBe(false)
    expect(await lostSecrets(e, [x])).toEqual([])
  })

  it('a torn private.pem and no .previous: the tenant fails, the message names both files, nothing changes', async () => {
    const x = t[1]!
    const good = e.readKey(privateKeyPath(x.id))!
    truncateSync(file(privateKeyPath(x.id)), 700)
    const torn = e.readKey(privateKeyPath(x.id))
    const r = await runCli(['encryption', 'rotate', '--tenant', x.id, '--yes', '--json'], { env: e.env })
    expect(r.code).toBe(7)
    expect(r.json.outcomes[0].error).toContain(`${privateKeyPath(x.id)} does not parse`)
    expect(r.json.outcomes[0].error).toContain(`${privateKeyPreviousPath(x.id)} does not exist`)
    expect(r.json.outcomes[0].error).toContain('restore-key')
    expect(e.readKey(privateKeyPath(x.id))).toBe(torn)
    e.writeKey(privateKeyPath(x.id), good)
  })

  it('a torn .previous and a good private.pem (crash while copying): rotate starts again from private.pem', async () => {
    const x = t[1]!
    e.writeKey(privateKeyPreviousPath(x.id), e.readKey(privateKeyPath(x.id))!.slice(0, 500))
    const r = await runCli(['encryption', 'rotate', '--tenant', x.id, '--yes', '--json'], { env: e.env })
    expect(r.code).toBe(0)
    expect(r.json.outcomes[0]).toMatchObject({ status: 'rotated', reencrypted: 20 })
    expect(await lostSecrets(e, [x])).toEqual([])
  })

  it('two rotates of one tenant at once: the second waits for the first, no credential is lost, no temporary file left', async () => {
    const x = t[2]!
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...e.env,
    }
    const run = () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const c = spawn(process.execPath, [BIN, 'encryption', 'rotate', '--tenant', x.id, '--yes', '--json'], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let out = ''
        c.stdout.on('data', (d) => (out += d))
        c.on('exit', (code) => resolve({ code, out }))
      })
    const [a, b] = await Promise.all([run(), run()])
    for (const r of [a, b]) expect([0, 6]).toContain(r.code)
    const rotated = [a, b].filter((r) => r.code === 0).map((r) => JSON.parse(r.out))
    expect(rotated.length).toBeGreaterThanOrEqual(1)
    for (const j of rotated) expect(j.outcomes[0]).toMatchObject({ status: 'rotated', reencrypted: 20, resumed: false })
    expect(await lostSecrets(e, [x])).toEqual([])
    expect((await runCli(['encryption', 'check', '--tenant', x.id], { env: e.env })).code).toBe(0)
    expect(readdirSync(dirname(file(privateKeyPath(x.id))))).toEqual(['private.pem'])
  }, 120_000)

  it('a tenant whose lock another run holds is reported busy (summary.busy) after the wait, and left unchanged', async () => {
    const x = t[3]!
    const before = e.readKey(privateKeyPath(x.id))
    await e.redis.client.set(keys.encryptionTenantLock(x.id, e.redis.prefix), 'someone-else', 'PX', 60_000)
    const rt = new Runtime(configFromVars(e.env))
    try {
      const res = await rotateKeys(
        { db: await rt.db(), storage: await rt.storage(), redis: () => rt.redis() },
        { tenantIds: [x.id], lockWaitMs: 300 },
      )
      expect(res.summary).toMatchObject({ failed: 1, busy: 1, rotated: 0 })
      expect(res.outcomes[0]!.error).toMatch(/^busy: another dify-ops run holds .*dify_ops:encryption_lock:/)
    } finally {
      await rt.close()
      await e.redis.client.del(keys.encryptionTenantLock(x.id, e.redis.prefix))
    }
    expect(e.readKey(privateKeyPath(x.id))).toBe(before)
  })

  it('the lock of a killed run on this host is taken over at once', async () => {
    const x = t[3]!
    const dead = spawn(process.execPath, ['-e', '0'])
    await new Promise((r) => dead.on('exit', r))
    await e.redis.client.set(
      keys.encryptionTenantLock(x.id, e.redis.prefix),
      `${hostname()}:${dead.pid}:${randomUUID()}`,
      'PX',
      60_000,
    )
    const rt = new Runtime(configFromVars(e.env))
    try {
      const res = await rotateKeys(
        { db: await rt.db(), storage: await rt.storage(), redis: () => rt.redis() },
        { tenantIds: [x.id], lockWaitMs: 300 },
      )
      expect(res.summary).toMatchObject({ rotated: 1, failed: 0, busy: 0 })
    } finally {
      await rt.close()
    }
    expect(await e.redis.client.exists(keys.encryptionTenantLock(x.id, e.redis.prefix))).toBe(0)
    expect(await lostSecrets(e, [x])).toEqual([])
  })

  it("private.pem keeps its mode across rotate; backups are 0600, or the key's mode when stricter", async () => {
    const x = t[3]!
    const key = file(privateKeyPath(x.id))
    chmodSync(key, 0o640)
    expect((await runCli(['encryption', 'rotate', '--tenant', x.id, '--yes'], { env: e.env })).code).toBe(0)
    expect(mode(key)).toBe(0o640)
    // reset: the old key is backed up
    chmodSync(key, 0o644)
    let r = await runCli(['reset-encrypt-key-pair', '--tenant', x.id, '--yes', '--json'], { env: e.env })
    expect(r.code).toBe(0)
    expect(mode(file(r.json.outcomes[0].backup))).toBe(0o600)
    expect(mode(key)).toBe(0o644)
    // the key the remaining secrets are encrypted with, for restore-key below
    const firstBackup = r.json.outcomes[0].backup as string
    chmodSync(key, 0o400)
    r = await runCli(['reset-encrypt-key-pair', '--tenant', x.id, '--yes', '--json'], { env: e.env })
    expect(r.code).toBe(0)
    expect(mode(file(r.json.outcomes[0].backup))).toBe(0o400)
    // restore-key backs up the key it replaces the same way
    chmodSync(key, 0o600)
    const ts = firstBackup.replace(/^.*private\.pem\.(.*)\.bak$/, '$1')
    const back = await runCli(['encryption', 'restore-key', '--tenant', x.id, '--backup', ts, '--json'], { env: e.env })
    expect(back.code).toBe(0)
    expect(mode(file(back.json.replacedKeyBackup))).toBe(0o600)
    expect(mode(key)).toBe(0o600)
    expect(readdirSync(dirname(key)).filter((f) => f.includes('.tmp-'))).toEqual([])
  }, 120_000)
})
