import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createPrivateKey } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateTenantKeyPair } from '../../../src/crypto/tenant-key.js'
import { privateKeyPath } from '../../../src/dify/keys.js'
import { runCli } from '../../support/cli.js'
import { encryptionEnv, type EncryptionEnv } from '../../support/encryption-env.js'
import type { SeededTenant } from '../../support/encryption-seed.js'

describe('dify encryption restore-key (PostgreSQL)', () => {
  let e: EncryptionEnv
  let t: SeededTenant[]
  let dir: string
  beforeAll(async () => {
    e = await encryptionEnv('encrestore')
    t = await e.seed(2)
    dir = mkdtempSync(join(tmpdir(), 'dops-pem-'))
  }, 60_000)
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true })
    await e?.close()
  })

  it('puts a lost key back from a file only when it decrypts every secret of the tenant', async () => {
    const a = t[0]!
    const original = e.readKey(privateKeyPath(a.id))!
    rmSync(join(e.storageRoot, privateKeyPath(a.id)))
    expect((await runCli(['encryption', 'check', '--tenant', a.id], { env: e.env })).code).toBe(8)
    const wrong = join(dir, 'wrong.pem')
    writeFileSync(wrong, (await generateTenantKeyPair()).privatePem)
    const w = await runCli(['encryption', 'restore-key', '--tenant', a.id, '--file', wrong, '--json'], { env: e.env })
    expect(w.code).toBe(8)
    expect(w.json.error.message).toContain('nothing was changed')
    expect(e.readKey(privateKeyPath(a.id))).toBeUndefined()
    // the saved key as PKCS#8 with a trailing newline: normalised to Dify's PKCS#1 form
    const right = join(dir, 'right.pem')
    writeFileSync(right, createPrivateKey(original).export({ type: 'pkcs8', format: 'pem' }))
    const dry = await runCli(['encryption', 'restore-key', '--tenant', a.id, '--file', right, '--dry-run', '--json'], {
      env: e.env,
    })
    expect(dry.code).toBe(0)
    expect(dry.json).toMatchObject({ dryRun: true, values: 20 })
    expect(e.readKey(privateKeyPath(a.id))).toBeUndefined()
    const r = await runCli(['encryption', 'restore-key', '--tenant', a.id, '--file', right], { env: e.env })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('decrypts all 20')
    expect(e.readKey(privateKeyPath(a.id))).toBe(original)
    expect((await runCli(['encryption', 'check', '--tenant', a.id], { env: e.env })).code).toBe(0)
  })

  it('undoes a reset from its backup (the secrets left in place decrypt again)', async () => {
    const b = t[1]!
    const original = e.readKey(privateKeyPath(b.id))!
    const reset = await runCli(['reset-encrypt-key-pair', '--tenant', b.id, '--yes', '--json'], { env: e.env })
    expect(reset.code).toBe(0)
    const ts = reset.json.backupTimestamp
    expect((await runCli(['encryption', 'check', '--tenant', b.id], { env: e.env })).code).toBe(8)
    expect(
      (await runCli(['encryption', 'restore-key', '--tenant', b.id, '--backup', '19990101T000000Z'], { env: e.env }))
        .code,
    ).toBe(3)
    const r = await runCli(['encryption', 'restore-key', '--tenant', b.id, '--backup', ts, '--json'], { env: e.env })
    expect(r.code).toBe(0)
    expect(r.json).toMatchObject({ values: 15, publicKeyUpdated: true })
    expect(r.json.replacedKeyBackup).toMatch(/\.bak$/)
    expect(e.readKey(privateKeyPath(b.id))).toBe(original)
    expect((await runCli(['encryption', 'check', '--tenant', b.id], { env: e.env })).code).toBe(0)
    expect((await runCli(['encryption', 'restore-key', '--tenant', b.id], { env: e.env })).code).toBe(2)
  })
})
