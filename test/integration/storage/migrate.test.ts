import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, runCli } from '../../support/cli.js'
import { stamped, tree } from '../../support/fs-tree.js'
import { encryptionEnv, type EncryptionEnv } from '../../support/encryption-env.js'

const FILES = 3000

describe('dify storage migrate (built CLI, OpenDAL fs → fs, PostgreSQL Dify 1.12)', () => {
  let e: EncryptionEnv
  let work: string
  let target: string
  let targetEnv: string
  let checkpoint: () => string | undefined
  beforeAll(async () => {
    e = await encryptionEnv('stmigrate')
    await e.seed(2) // tenants with their privkeys/<tenant>/private.pem and encrypted secrets
    const put = (p: string, data: Buffer | string) => {
      mkdirSync(dirname(join(e.storageRoot, p)), { recursive: true })
      writeFileSync(join(e.storageRoot, p), data)
    }
    put('.dify_secret_key', 'sk-generated\n')
    const tenant = randomUUID()
    for (let i = 0; i < FILES; i++)
      put(`upload_files/${tenant}/${randomUUID()}.bin`, randomBytes(i % 7 === 0 ? 20_000 : 300))
    // objects larger than a chunk (1 MiB): streamed through OpenDAL's reader and writer
    for (let i = 0; i < 5; i++) put(`image_files/${tenant}/${randomUUID()}.png`, randomBytes(2_500_000 + i))
    put('empty.txt', '')
    work = mkdtempSync(join(tmpdir(), 'dops-stmigrate-work-'))
    target = join(work, 'target-root')
    targetEnv = join(work, 'target.env')
    writeFileSync(targetEnv, `STORAGE_TYPE=opendal\nOPENDAL_SCHEME=fs\nOPENDAL_FS_ROOT=${target}\n`)
    checkpoint = () => {
      const d = join(work, '.dify-ops', 'storage-migrate')
      if (!existsSync(d)) return undefined
      const f = readdirSync(d)[0]
      return f ? readFileSync(join(d, f), 'utf8') : undefined
    }
  }, 180_000)
  afterAll(async () => {
    await e?.close()
    if (work) rmSync(work, { recursive: true, force: true })
  })
  const migrate = (args: string[], env = e.env) =>
    runCli(['storage', 'migrate', '--to-env-file', targetEnv, ...args], { env, cwd: work, timeoutMs: 240_000 })

  it('--dry-run writes nothing anywhere: both storages and the checkpoint directory as before', async () => {
    const src = stamped(e.storageRoot)
    const r = await migrate(['--dry-run', '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.json).toMatchObject({ dryRun: true, objects: FILES + 9, copied: FILES + 9, skipped: 0, conflicts: [] })
    expect(r.json.keyObjects).toEqual({ privkeys: 2, secretKey: true })
    expect(r.json.database).toMatchObject({ absolute: [] })
    expect(stamped(e.storageRoot)).toEqual(src)
    expect(existsSync(target)).toBe(false)
    expect(existsSync(join(work, '.dify-ops'))).toBe(false)
  })

  it('an unreachable target is exit 5 before anything is copied (fs root that cannot be created; s3 on a closed port)', async () => {
    const src = stamped(e.storageRoot)
    const bad = join(work, 'bad.env')
    writeFileSync(bad, 'STORAGE_TYPE=opendal\nOPENDAL_SCHEME=fs\nOPENDAL_FS_ROOT=/proc/dify-ops-nope/x\n')
    const a = await runCli(['storage', 'migrate', '--to-env-file', bad, '--yes'], { env: e.env, cwd: work })
    expect(a.code).toBe(5)
    writeFileSync(
      bad,
      'STORAGE_TYPE=opendal\nOPENDAL_SCHEME=s3\nOPENDAL_S3_BUCKET=b\nOPENDAL_S3_REGION=us-east-1\nOPENDAL_S3_ENDPOINT=http://127.0.0.1:9\nOPENDAL_S3_ACCESS_KEY_ID=a\nOPENDAL_S3_SECRET_ACCESS_KEY=b\n',
    )
    const b = await runCli(['storage', 'migrate', '--to-env-file', bad, '--yes', '--json'], { env: e.env, cwd: work })
    expect(b.code).toBe(5)
    expect(b.json.error.message).toMatch(/s3:\/\/b/)
    expect(stamped(e.storageRoot)).toEqual(src)
    expect(existsSync(join(work, '.dify-ops'))).toBe(false)
    // the source itself as target: exit 4
    const same = join(work, 'same.env')
    writeFileSync(same, `STORAGE_TYPE=opendal\nOPENDAL_SCHEME=fs\nOPENDAL_FS_ROOT=${e.storageRoot}/sub\n`)
    expect((await runCli(['storage', 'migrate', '--to-env-file', same, '--yes'], { env: e.env, cwd: work })).code).toBe(
      4,
    )
  })

  it('killed with SIGKILL midway, the rerun completes the target without copying anything twice; --verify passes', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'storage', 'migrate', '--to-env-file', targetEnv, '--concurrency', '1', '--yes', '--json'],
      { env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...e.env }, cwd: work, stdio: 'ignore' },
    )
    const exited = new Promise((res) => child.on('exit', res))
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline && ((checkpoint() ?? '').match(/^D\t/gm)?.length ?? 0) < 50)
      await new Promise((res) => setTimeout(res, 5))
    child.kill('SIGKILL')
    await exited
    const first = checkpoint()!
    const doneBefore = new Set([...first.matchAll(/^D\t([^\t]+)\t/gm)].map((m) => m[1]))
    expect(doneBefore.size).toBeGreaterThanOrEqual(50)
    expect(doneBefore.size).toBeLessThan(FILES) // it was stopped midway
    expect(Object.keys(tree(target)).length).toBeLessThan(FILES + 9)
    const mtimes = new Map([...doneBefore].map((p) => [p, statSync(join(target, p!)).mtimeMs]))

    const r = await migrate(['--json'])
    expect(r.code).toBe(0)
    expect(r.json.skipped).toBe(doneBefore.size)
    expect(r.json.copied).toBe(FILES + 9 - doneBefore.size)
    expect(tree(target)).toEqual(tree(e.storageRoot))
    const log = checkpoint()!
    const after = log.slice(first.length)
    // nothing copied twice: each object done once; those done before the kill not started again, not rewritten
    const dones = [...log.matchAll(/^D\t([^\t]+)\t/gm)].map((m) => m[1])
    expect(dones.length).toBe(new Set(dones).size)
    expect(dones.length).toBe(FILES + 9)
    for (const m of after.matchAll(/^S\t(.+)$/gm)) expect(doneBefore.has(m[1])).toBe(false)
    for (const [p, t] of mtimes) expect(statSync(join(target, p!)).mtimeMs).toBe(t)

    const v = await migrate(['--verify', '--json'])
    expect(v.code).toBe(0)
    expect(v.json).toMatchObject({ copied: 0, skipped: FILES + 9, verified: { size: FILES + 9, hash: FILES + 9 } })
  }, 300_000)

  it('after the switch to the target, encryption check finds every tenant key', async () => {
    const env = { ...e.env, OPENDAL_FS_ROOT: target, STORAGE_LOCAL_PATH: target }
    const r = await runCli(['encryption', 'check', '--json'], { env })
    expect(r.code).toBe(0)
    expect(r.json.storage).toContain(target)
    expect(r.json.summary).toMatchObject({ tenants: 2, tenantsOk: 2, keyProblems: 0 })
  })

  it('different objects at the same keys: exit 4, nothing written; --overwrite --yes replaces them', async () => {
    const [a, b] = Object.keys(tree(e.storageRoot)).filter((p) => p.startsWith('upload_files/'))
    const sa = readFileSync(join(e.storageRoot, a!))
    writeFileSync(join(target, a!), Buffer.from(sa.map((x) => x ^ 1))) // same size, other bytes
    writeFileSync(join(target, b!), 'shorter')
    const before = stamped(target)
    // without --verify an object this migration copied is trusted by its checkpoint and size: the shorter one is found
    const r = await migrate(['--yes', '--json'])
    expect(r.code).toBe(4)
    expect(r.json.error.message).toContain(`1 objects with different content at the same keys (first: ${b}`)
    // --verify compares every object by content: both are found
    const v = await migrate(['--verify', '--yes', '--json'])
    expect(v.code).toBe(4)
    expect(v.json.error.message).toContain('2 objects with different content')
    expect(stamped(target)).toEqual(before)
    expect((await migrate(['--overwrite', '--verify'])).code).toBe(2) // replacing asks first
    expect(stamped(target)).toEqual(before)
    const o = await migrate(['--overwrite', '--verify', '--yes', '--json'])
    expect(o.code).toBe(0)
    expect(o.json).toMatchObject({ copied: 2, overwritten: 2 })
    expect(tree(target)).toEqual(tree(e.storageRoot))
  })

  it('--delete-source: asks first (exit 2 without a terminal, before copying); with --yes deletes the verified source', async () => {
    expect((await migrate(['--prefix', 'image_files/', '--delete-source'])).code).toBe(2)
    const before = tree(e.storageRoot)
    const r = await migrate(['--prefix', 'image_files/', '--delete-source', '--yes', '--json'])
    expect(r.code).toBe(0)
    expect(r.json).toMatchObject({ objects: 5, sourceDeleted: 5, verified: { hash: 5 } })
    const now = tree(e.storageRoot)
    expect(Object.keys(now).filter((p) => p.startsWith('image_files/'))).toEqual([])
    expect(Object.keys(now).length).toBe(Object.keys(before).length - 5)
    expect(Object.keys(tree(target)).filter((p) => p.startsWith('image_files/'))).toHaveLength(5)
  })
})
