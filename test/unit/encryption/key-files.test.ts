import { afterAll, describe, expect, it } from 'vitest'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStorage } from '../../../src/runtime/storage.js'
import { copyMode, writeKeyCopy, writeKeyFile } from '../../../src/encryption/key-files.js'

const root = mkdtempSync(join(tmpdir(), 'dops-keyfiles-'))
const mode = (p: string) => statSync(join(root, p)).mode & 0o777

describe('key files on fs storage', () => {
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  it("copyMode: 0600, or the key's mode when stricter", () => {
    expect(copyMode(undefined)).toBe(0o600)
    expect(copyMode(0o644)).toBe(0o600)
    expect(copyMode(0o640)).toBe(0o600)
    expect(copyMode(0o400)).toBe(0o400)
    expect(copyMode(0o600)).toBe(0o600)
  })
  it('writeKeyFile replaces atomically and keeps the mode; writeKeyCopy makes 0600 copies; no temporary file is left', async () => {
    const s = await openStorage({
      storageType: 'opendal',
      scheme: 'fs',
      options: { root },
      location: `fs:${root}`,
    } as any)
    expect(s.localPath).toBeDefined()
    await writeKeyFile(s, 'privkeys/t/private.pem', 'one')
    chmodSync(join(root, 'privkeys/t/private.pem'), 0o640)
    await writeKeyFile(s, 'privkeys/t/private.pem', 'two')
    expect(readFileSync(join(root, 'privkeys/t/private.pem'), 'utf8')).toBe('two')
    expect(mode('privkeys/t/private.pem')).toBe(0o640)
    await writeKeyCopy(s, 'privkeys/t/private.pem.X.bak', 'two', 'privkeys/t/private.pem')
    expect(mode('privkeys/t/private.pem.X.bak')).toBe(0o600)
    expect(readdirSync(join(root, 'privkeys/t')).sort()).toEqual(['private.pem', 'private.pem.X.bak'])
  })
  it('rename on the storage moves an object (the non-fs path of writeKeyFile)', async () => {
    const s = await openStorage({
      storageType: 'opendal',
      scheme: 'fs',
      options: { root },
      location: `fs:${root}`,
    } as any)
    await s.write('a/x', 'data')
    await s.rename('a/x', 'a/y')
    expect(await s.exists('a/x')).toBe(false)
    expect((await s.read('a/y')).toString()).toBe('data')
  })
})
