/**
 * `dify storage migrate` (built CLI, OpenDAL fs → fs) on MariaDB at Dify 1.15.0 and 1.10.1 (the first MySQL release):
 * the database part (file rows counted, an absolute key listed, storage types) read through MySQL; --dry-run writes
 * nothing; SIGKILL midway, then the rerun copies only what was not finished (each object the rerun did not copy is
 * untouched, by mtime: independent of the checkpoint's format) and --verify passes; `encryption check` against the
 * target finds every tenant key. The PostgreSQL test with more objects and every flag: migrate.test.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, startCli } from '../../support/cli.js'
import { fileCount, putFile, stamped, tree } from '../../support/fs-tree.js'
import { encryptionEnv, type EncryptionEnv } from '../../support/encryption-env.js'

const FILES = 1000
/** the upload files, one large object (streamed in chunks), .dify_secret_key, two private keys */
const TOTAL = FILES + 4

for (const release of ['1.15.0', '1.10.1']) {
  describe(`dify storage migrate (built CLI, OpenDAL fs → fs, MariaDB Dify ${release})`, () => {
    let e: EncryptionEnv
    let work: string
    let target: string
    let targetEnv: string
    let args: string[]
    const absolute = { id: randomUUID(), key: 'https://cdn.example.com/upload_files/x.png' }
    const checkpointDir = () => join(work, '.dify-ops', 'storage-migrate')
    beforeAll(async () => {
      e = await encryptionEnv(`stmigratemy${release}`, 'mysql', { release })
      await e.seed(2) // tenants with their privkeys/<tenant>/private.pem and encrypted secrets
      const tenant = randomUUID()
      const keys = Array.from({ length: FILES }, () => `upload_files/${tenant}/${randomUUID()}.bin`)
      keys.forEach((k, i) => putFile(e.storageRoot, k, randomBytes(i % 7 === 0 ? 20_000 : 300)))
      putFile(e.storageRoot, `image_files/${tenant}/${randomUUID()}.png`, randomBytes(2_500_000))
      putFile(e.storageRoot, '.dify_secret_key', 'sk-generated\n')
      const row = (id: string, key: string, storageType: string) => ({
        id,
        tenant_id: tenant,
        storage_type: storageType,
        key,
        name: 'f.bin',
        size: 300,
        extension: 'bin',
        created_by: randomUUID(),
        source_url: '',
      })
      await e.sink.insert('upload_files', [
        row(randomUUID(), keys[0]!, 'opendal'),
        row(absolute.id, absolute.key, 'local'),
      ])
      work = mkdtempSync(join(tmpdir(), 'dops-stmigratemy-work-'))
      target = join(work, 'target-root')
      targetEnv = join(work, 'target.env')
      writeFileSync(targetEnv, `STORAGE_TYPE=opendal\nOPENDAL_SCHEME=fs\nOPENDAL_FS_ROOT=${target}\n`)
      args = ['storage', 'migrate', '--to-env-file', targetEnv]
    }, 180_000)
    afterAll(async () => {
      await e?.close()
      if (work) rmSync(work, { recursive: true, force: true })
    })
    const migrate = (more: string[]) =>
      runCli([...args, ...more], {
        env: e.env,
        cwd: work,
        timeoutMs: 240_000,
      })

    it('--dry-run: the plan and the database check read through MySQL; nothing written anywhere', async () => {
      const src = stamped(e.storageRoot)
      const r = await migrate(['--dry-run', '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.json).toMatchObject({ dryRun: true, objects: TOTAL, copied: TOTAL, skipped: 0, conflicts: [] })
      expect(r.json.keyObjects).toEqual({ privkeys: 2, secretKey: true })
      expect(r.json.database).toEqual({
        rows: 2,
        absolute: [{ table: 'upload_files', id: absolute.id, key: absolute.key }],
        storageTypes: { opendal: 1, local: 1 },
      })
      expect(stamped(e.storageRoot)).toEqual(src)
      expect(existsSync(target)).toBe(false)
      expect(existsSync(join(work, '.dify-ops'))).toBe(false)
    })

    it('SIGKILL midway, then the rerun copies only what was not finished; --verify passes', async () => {
      const { child, done } = startCli([...args, '--concurrency', '1', '--yes', '--json'], e.env, undefined, work)
      const checkpointed = () =>
        existsSync(checkpointDir()) &&
        readdirSync(checkpointDir()).some((f) => statSync(join(checkpointDir(), f)).size > 0)
      const deadline = Date.now() + 60_000
      while (Date.now() < deadline && (fileCount(target) < 300 || !checkpointed()))
        await new Promise((res) => setTimeout(res, 5))
      child.kill('SIGKILL')
      expect((await done).code).toBe(128)
      const atKill = stamped(target)
      expect(Object.keys(atKill).length).toBeLessThan(TOTAL) // it was stopped midway

      const r = await migrate(['--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.copied + r.json.skipped).toBe(TOTAL)
      expect(r.json.skipped).toBeGreaterThan(0)
      expect(tree(target)).toEqual(tree(e.storageRoot))
      // what the rerun skipped is exactly what it left untouched: no finished object is written again
      const now = stamped(target)
      const untouched = Object.keys(now).filter((p) => atKill[p] === now[p])
      expect(untouched.length).toBe(r.json.skipped)
      expect(TOTAL - untouched.length).toBe(r.json.copied)

      const v = await migrate(['--verify', '--json'])
      expect(v.code, v.stderr).toBe(0)
      expect(v.json).toMatchObject({ copied: 0, skipped: TOTAL, verified: { size: TOTAL, hash: TOTAL } })
      expect(stamped(target)).toEqual(now)
    }, 300_000)

    it('after the switch to the target, encryption check finds every tenant key', async () => {
      const r = await runCli(['encryption', 'check', '--json'], {
        env: { ...e.env, OPENDAL_FS_ROOT: target, STORAGE_LOCAL_PATH: target },
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.storage).toContain(target)
      expect(r.json.summary).toMatchObject({ tenants: 2, tenantsOk: 2, keyProblems: 0 })
    })
  })
}
