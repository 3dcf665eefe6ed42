import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStorage, type Storage } from '../../../src/runtime/storage.js'
import { listObjects, ObjectCopier, SMALL_SYNC } from '../../../src/storage/object-io.js'

const fsStorage = (root: string) =>
  openStorage({ storageType: 'opendal', scheme: 'fs', options: { root }, location: `fs://${root}` })
const memStorage = () => openStorage({ storageType: 'opendal', scheme: 'memory', options: {}, location: 'memory://' })
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('storage migrate object I/O (fs sides through node fs, others through OpenDAL)', () => {
  let work: string
  let src: Storage
  const objects: Record<string, Buffer> = {
    '.dify_secret_key': Buffer.from('sk\n'),
    'empty.txt': Buffer.alloc(0),
    'privkeys/t1/private.pem': randomBytes(1700),
    'upload_files/t1/a/b/small.bin': randomBytes(SMALL_SYNC), // the largest synchronous copy
    'upload_files/t1/large.bin': randomBytes(SMALL_SYNC + 1 + (3 << 20)), // streamed, several 1 MiB chunks
  }
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'dops-objio-'))
    for (const [p, b] of Object.entries(objects)) {
      mkdirSync(dirname(join(work, 'src', p)), { recursive: true })
      writeFileSync(join(work, 'src', p), b)
    }
    src = await fsStorage(join(work, 'src'))
  })
  afterAll(() => rmSync(work, { recursive: true, force: true }))

  it('lists an fs storage as OpenDAL walks it (paths, sizes; no directories; a symlinked file followed)', async () => {
    symlinkSync(join(work, 'src', 'empty.txt'), join(work, 'src', 'upload_files', 'link.txt'))
    try {
      const mine = new Map<string, number>()
      for await (const x of listObjects(src)) mine.set(x.path, x.size)
      const theirs = new Map<string, number>()
      for await (const x of src.walk('')) theirs.set(x.path, x.size)
      expect(mine).toEqual(theirs)
      expect(mine.get('upload_files/t1/large.bin')).toBe(objects['upload_files/t1/large.bin']!.length)
    } finally {
      rmSync(join(work, 'src', 'upload_files', 'link.txt'))
    }
  })

  it.each([
    ['fs → fs', 'fs', 'fs'],
    ['fs → memory (OpenDAL writer)', 'fs', 'memory'],
    ['memory → fs (OpenDAL reader)', 'memory', 'fs'],
  ])('%s: same bytes, parent directories created, sha256 of the source, size read back', async (_n, from, to) => {
    const dir = join(work, `dst-${from}-${to}`)
    const source = from === 'fs' ? src : await memStorage()
    if (from === 'memory') for (const [p, b] of Object.entries(objects)) await source.write(p, b)
    const target = to === 'fs' ? await fsStorage(dir) : await memStorage()
    const c = new ObjectCopier(source, target)
    const buf = Buffer.allocUnsafe(1 << 20)
    for (const [p, b] of Object.entries(objects)) {
      const r = await c.copy(p, b.length, buf)
      expect(r).toEqual({ written: b.length, digest: sha(b) })
      expect(await c.copy(p, b.length, buf, false)).toEqual({ written: b.length, digest: null }) // size only: no hash
      expect(sha(to === 'fs' ? readFileSync(join(dir, p)) : await target.read(p))).toBe(sha(b))
      expect(await c.hash('target', p, b.length, buf)).toBe(sha(b))
      await c.durable(p)
    }
  })

  it('a source object that is gone fails before the target file is created', async () => {
    const dir = join(work, 'dst-gone')
    const c = new ObjectCopier(src, await fsStorage(dir))
    const buf = Buffer.allocUnsafe(1 << 20)
    await expect(c.copy('upload_files/nope.bin', 10, buf)).rejects.toThrow(/ENOENT/)
    await expect(c.copy('upload_files/nope-large.bin', SMALL_SYNC + 1, buf)).rejects.toThrow(/ENOENT/)
    expect(() => readFileSync(join(dir, 'upload_files/nope.bin'))).toThrow(/ENOENT/)
    expect(() => readFileSync(join(dir, 'upload_files/nope-large.bin'))).toThrow(/ENOENT/)
  })
})
