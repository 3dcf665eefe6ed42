import { createHash, type Hash } from 'node:crypto'
import fs from 'node:fs'
import { dirname, join } from 'node:path'
import type { Storage } from '../runtime/storage.js'
import { ConnectError } from '../core/errors.js'

/** What the copy needs of a storage: OpenDAL's streams, and the local file of an object on the fs scheme. */
export type IOStorage = Pick<Storage, 'readChunks' | 'writeChunks' | 'size' | 'localPath'>
type Listable = Pick<Storage, 'walk' | 'localPath' | 'location'>

/** objects up to this size (listed) on a local fs are copied with synchronous calls, while they stay fast */
export const SMALL_SYNC = 256 << 10
/**
 * a synchronous small copy slower than SLOW_MS in more than half of a window of SLOW_WINDOW means a slow disk or a
 * network mount (not the occasional writeback stall): asynchronous calls from then on
 */
const SLOW_MS = 2
const SLOW_WINDOW = 64
/** the event loop gets a turn at least this often (ms) during synchronous copies: signals, progress, other tasks */
const YIELD_MS = 10

/**
 * Copies objects between two storages. Sides on the `fs` scheme are read and written with node's fs on the object's
 * local file, not through OpenDAL: OpenDAL's fs writer fsyncs every object on close (measured: more than the whole
 * `cp -r` of the same tree), and each OpenDAL call is a round trip through its runtime. Small objects on fs sides are
 * copied with synchronous calls (a few syscalls, no thread-pool round trip per step) as long as these stay fast; a
 * slow disk or a network mount (most copies of a window over SLOW_MS) switches to asynchronous calls,
 * `--concurrency` at a time. Other schemes go through
 * OpenDAL's reader and writer. Every copy hashes the source bytes (sha256) on the way; its size at the target is read
 * back from the filesystem (fstat of the written file) or OpenDAL (stat).
 */
export class ObjectCopier {
  private sync = true
  private timedCount = 0
  private slowCount = 0
  private lastYield = performance.now()

  constructor(
    private readonly source: IOStorage,
    private readonly target: IOStorage,
  ) {}

  /**
   * Copy one object through `buffer` (reused, ≥ 64 KiB); its size at the target and, with `hash`, the sha256 of the
   * source bytes (null without: hashing every byte was a quarter of a copy's CPU, and only the objects whose copy is
   * compared by content need it).
   */
  async copy(
    path: string,
    size: number,
    buffer: Buffer,
    hash = true,
  ): Promise<{ written: number; digest: string | null }> {
    const sp = this.source.localPath?.(path)
    const tp = this.target.localPath?.(path)
    const h = hash ? createHash('sha256') : null
    const digest = () => h?.digest('hex') ?? null
    if (sp && tp) {
      if (size <= SMALL_SYNC && this.sync) {
        const written = this.timed(() => copyFileSync(sp, tp, buffer, h))
        await this.breathe()
        return { written, digest: digest() }
      }
      return { written: await copyFileAsync(sp, tp, buffer, h), digest: digest() }
    }
    const chunks = sp ? fileChunks(sp, buffer) : this.source.readChunks(path, { buffer, size })
    async function* hashing() {
      for await (const c of chunks) {
        h?.update(c)
        yield c
      }
    }
    let written: number
    if (tp) written = await writeFileFromChunks(tp, hashing())
    else {
      await this.target.writeChunks(path, hashing(), { size })
      written = await this.target.size(path)
    }
    return { written, digest: digest() }
  }

  /** The sha256 of an object of one side, read through `buffer`. */
  async hash(side: 'source' | 'target', path: string, size: number, buffer: Buffer): Promise<string> {
    const s = side === 'source' ? this.source : this.target
    const lp = s.localPath?.(path)
    const h = createHash('sha256')
    if (lp && size <= SMALL_SYNC && this.sync) {
      this.timed(() => hashFileSync(lp, buffer, h))
      await this.breathe()
    } else for await (const c of lp ? fileChunks(lp, buffer) : s.readChunks(path, { buffer, size })) h.update(c)
    return h.digest('hex')
  }

  /**
   * Make an object's copy on an fs target durable (fsync of the file). The copies are not fsynced one by one (as with
   * `cp -r`); this is done before the source of an object is deleted. Other schemes: durable when the write returns.
   */
  async durable(path: string): Promise<void> {
    const tp = this.target.localPath?.(path)
    if (!tp) return
    const fd = await open(tp, 'r')
    try {
      await new Promise<void>((res, rej) => fs.fsync(fd, (e) => (e ? rej(e) : res())))
    } finally {
      await close(fd)
    }
  }

  private timed<T>(f: () => T): T {
    const t0 = performance.now()
    const out = f()
    if (performance.now() - t0 > SLOW_MS) this.slowCount++
    if (++this.timedCount === SLOW_WINDOW) {
      if (this.slowCount > SLOW_WINDOW / 2) this.sync = false
      this.timedCount = this.slowCount = 0
    }
    return out
  }

  private async breathe(): Promise<void> {
    if (performance.now() - this.lastYield < YIELD_MS) return
    await new Promise((res) => setImmediate(res))
    this.lastYield = performance.now()
  }
}

/** open for writing (created or truncated, as OpenDAL's fs writer does), creating the parent directories once */
function openForWriteSync(p: string): number {
  try {
    return fs.openSync(p, 'w')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    fs.mkdirSync(dirname(p), { recursive: true })
    return fs.openSync(p, 'w')
  }
}

function copyFileSync(sp: string, tp: string, buf: Buffer, h: Hash | null): number {
  const s = fs.openSync(sp, 'r')
  try {
    const t = openForWriteSync(tp)
    try {
      for (;;) {
        const n = fs.readSync(s, buf, 0, buf.length, null)
        if (!n) break
        h?.update(buf.subarray(0, n))
        for (let w = 0; w < n;) w += fs.writeSync(t, buf, w, n - w)
      }
      return fs.fstatSync(t).size
    } finally {
      fs.closeSync(t)
    }
  } finally {
    fs.closeSync(s)
  }
}

function hashFileSync(p: string, buf: Buffer, h: Hash): void {
  const s = fs.openSync(p, 'r')
  try {
    for (let n; (n = fs.readSync(s, buf, 0, buf.length, null));) h.update(buf.subarray(0, n))
  } finally {
    fs.closeSync(s)
  }
}

const cb =
  <T>(res: (v: T) => void, rej: (e: Error) => void) =>
  (e: Error | null, v: T) =>
    e ? rej(e) : res(v)
const open = (p: string, flags: string) => new Promise<number>((res, rej) => fs.open(p, flags, cb(res, rej)))
const close = (fd: number) => new Promise<void>((res, rej) => fs.close(fd, (e) => (e ? rej(e) : res())))
const read = (fd: number, b: Buffer, off: number) =>
  new Promise<number>((res, rej) => fs.read(fd, b, off, b.length - off, null, cb(res, rej)))
const write = (fd: number, b: Buffer, off: number, len: number) =>
  new Promise<number>((res, rej) => fs.write(fd, b, off, len, null, cb(res, rej)))
const fsize = (fd: number) => new Promise<number>((res, rej) => fs.fstat(fd, (e, st) => (e ? rej(e) : res(st.size))))

async function openForWrite(p: string): Promise<number> {
  try {
    return await open(p, 'w')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    await fs.promises.mkdir(dirname(p), { recursive: true })
    return await open(p, 'w')
  }
}

/** A local file a buffer-full at a time (each chunk a view of `buf`, valid until the next is asked for). */
async function* fileChunks(p: string, buf: Buffer): AsyncIterable<Buffer> {
  const fd = await open(p, 'r')
  try {
    for (;;) {
      let filled = 0
      for (let n; filled < buf.length && (n = await read(fd, buf, filled));) filled += n
      if (filled) yield buf.subarray(0, filled)
      if (filled < buf.length) return
    }
  } finally {
    await close(fd)
  }
}

/** Write chunks to a local file (each written before the next is asked for); its size as the filesystem has it. */
async function writeFileFromChunks(p: string, chunks: AsyncIterable<Buffer>): Promise<number> {
  const it = chunks[Symbol.asyncIterator]()
  let r = await it.next() // the source is opened (and read) before the target is created or truncated
  let fd: number | undefined
  try {
    fd = await openForWrite(p)
    for (; !r.done; r = await it.next())
      for (let w = 0; w < r.value.length;) w += await write(fd, r.value, w, r.value.length - w)
    return await fsize(fd)
  } finally {
    if (!r.done) await it.return?.()
    if (fd !== undefined) await close(fd)
  }
}

async function copyFileAsync(sp: string, tp: string, buf: Buffer, h: Hash | null): Promise<number> {
  return writeFileFromChunks(
    tp,
    (async function* () {
      for await (const c of fileChunks(sp, buf)) {
        h?.update(c)
        yield c
      }
    })(),
  )
}

/**
 * Every object of a storage (recursive, no directories) with its size. On the fs scheme the directories are read
 * with node's fs, one at a time, and each entry is stat'ed in place (OpenDAL's fs lister carries no sizes: its walk
 * stats every entry through its runtime, ~70 µs per object measured); elsewhere OpenDAL's walk. The event loop gets
 * a turn every 10 ms.
 */
export async function* listObjects(s: Listable): AsyncIterable<{ path: string; size: number }> {
  const root = s.localPath?.('')
  if (!root) {
    for await (const x of s.walk('')) yield { path: x.path, size: x.size }
    return
  }
  const dirs = ['']
  let lastYield = performance.now()
  while (dirs.length) {
    const rel = dirs.pop()!
    let entries: fs.Dirent[]
    try {
      entries = fs.readdirSync(join(root, rel), { withFileTypes: true })
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' && rel) continue // removed meanwhile
      throw new ConnectError(`Storage ${s.location} failed to list ${rel || '/'}: ${(e as Error).message}.`, {
        hint: 'Check that the storage directory exists and can be read by this user.',
      })
    }
    for (const e of entries) {
      const p = rel + e.name
      if (e.isDirectory()) {
        dirs.push(p + '/')
        continue
      }
      const st = fs.statSync(join(root, p), { throwIfNoEntry: false }) // follows a symlink, as OpenDAL's stat does
      if (!st || st.isDirectory()) continue // removed meanwhile
      yield { path: p, size: st.size }
    }
    if (performance.now() - lastYield >= YIELD_MS) {
      await new Promise((res) => setImmediate(res))
      lastYield = performance.now()
    }
  }
}
