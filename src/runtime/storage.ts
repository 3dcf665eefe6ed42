import { join } from 'node:path'
import type { StorageConfig } from '../config/schema.js'
import { ConfigError, ConnectError } from '../core/errors.js'

/** The file storage Dify uses (privkeys/, upload_files/, …), through OpenDAL. */
export interface Storage {
  location: string
  read(path: string): Promise<Buffer>
  /** undefined when the object does not exist */
  readIfExists(path: string): Promise<Buffer | undefined>
  write(path: string, data: Buffer | string): Promise<void>
  exists(path: string): Promise<boolean>
  /** the object's size in bytes (ENOENT error when absent) */
  size(path: string): Promise<number>
  delete(path: string): Promise<void>
  /** object paths below a prefix (recursive), without directory entries */
  list(prefix: string): Promise<string[]>
  copy(from: string, to: string): Promise<void>
  /** move an object: OpenDAL's rename where the service has it (atomic on fs), else copy then delete */
  rename(from: string, to: string): Promise<void>
  /** the local file of an object on the fs scheme (for atomic writes with a file mode); undefined elsewhere */
  localPath?: (path: string) => string
  /**
   * Every object below `prefix` (recursive, no directory entries), streamed from OpenDAL's lister with its size and
   * last-modified time; where the service's listing carries no metadata (fs), each entry is stat'ed, `statConcurrency`
   * at a time, in listing order.
   */
  walk(prefix: string, opts?: { statConcurrency?: number }): AsyncIterable<StoredObject>
  /**
   * An object's bytes, read with OpenDAL's reader into `buffer` (default: a new 1 MiB buffer) and yielded a buffer-full
   * at a time: each chunk is a view of that buffer, valid until the next is asked for (hash or write it first). Reusing
   * one buffer per task keeps memory flat and avoids an allocation per chunk (much faster than `read` for large objects).
   * An object listed at `size` ≤ 256 KiB is read with one `read` (fewer calls; a small allocation).
   */
  readChunks(path: string, opts?: { buffer?: Buffer; size?: number }): AsyncIterable<Buffer>
  /**
   * Write an object from chunks, each written before the next is asked for (so `readChunks` views may be passed
   * through): one `write` when the first chunk is the whole object (`size`), else OpenDAL's writer.
   */
  writeChunks(path: string, chunks: AsyncIterable<Buffer>, opts?: { size?: number }): Promise<void>
  /** OpenDAL's check (a listing of the root): ConnectError when the storage cannot be reached */
  check(): Promise<void>
}

export interface StoredObject {
  path: string
  size: number
  /** null when the service does not tell */
  lastModified: Date | null
}

export async function openStorage(cfg: StorageConfig): Promise<Storage> {
  if (!cfg.scheme) {
    throw new ConfigError(`STORAGE_TYPE=${cfg.storageType} is not supported by dify-ops.`, {
      hint: 'dify-ops reaches storage through OpenDAL: use STORAGE_TYPE=opendal (any OPENDAL_SCHEME), local, s3 or azure-blob.',
    })
  }
  let Operator: typeof import('opendal').Operator
  try {
    ;({ Operator } = await import('opendal'))
  } catch (e) {
    throw new ConfigError(`The OpenDAL storage library cannot be loaded: ${(e as Error).message.split('\n')[0]}.`, {
      hint: 'Reinstall dify-ops; opendal 0.49.2 is required on glibc 2.36 systems.',
    })
  }
  let op: InstanceType<typeof Operator>
  try {
    op = new Operator(cfg.scheme, cfg.options)
  } catch (e) {
    // the fs service creates its root when it is built: a root that cannot be created is a storage out of reach
    if (/create root dir failed/.test(firstLine(e)))
      throw new ConnectError(`Storage ${cfg.location} cannot be reached: ${firstLine(e)}.`, {
        hint: 'Check that the root directory can be created and written by this user.',
      })
    throw new ConfigError(`The storage settings for ${cfg.location} are not valid: ${firstLine(e)}.`, {
      hint: 'Check STORAGE_TYPE and the OPENDAL_<SCHEME>_* (or S3_*/AZURE_BLOB_*) variables.',
    })
  }
  const wrap = async <T>(what: string, path: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f()
    } catch (e) {
      const m = firstLine(e)
      if (/NotFound/.test(m)) throw Object.assign(new Error(`not found: ${path}`), { code: 'ENOENT' })
      if (/ConfigInvalid|PermissionDenied/.test(m)) {
        throw new ConfigError(`Storage ${cfg.location} refused ${what} of ${path}: ${m}.`)
      }
      throw new ConnectError(`Storage ${cfg.location} failed to ${what} ${path}: ${m}.`, {
        hint: 'Check that the storage is reachable and the credentials are right.',
      })
    }
  }
  const storage: Storage = {
    location: cfg.location,
    read: (p) => wrap('read', p, () => op.read(p)),
    readIfExists: async (p) => {
      try {
        return await storage.read(p)
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return undefined
        throw e
      }
    },
    write: (p, d) => wrap('write', p, async () => void (await op.write(p, d))),
    exists: (p) => wrap('check', p, () => op.exists(p)),
    size: (p) => wrap('stat', p, async () => Number((await op.stat(p)).contentLength ?? 0n)),
    delete: (p) => wrap('delete', p, () => op.delete(p)),
    list: (prefix) =>
      wrap('list', prefix, async () => {
        const entries = await op.list(prefix, { recursive: true })
        return entries.map((e) => e.path()).filter((p) => !p.endsWith('/'))
      }),
    copy: (a, b) => wrap('copy', a, async () => void (await op.write(b, await op.read(a)))),
    rename: (a, b) =>
      wrap('rename', a, async () => {
        if (op.capability().rename) return void (await op.rename(a, b))
        await op.write(b, await op.read(a))
        await op.delete(a)
      }),
    ...(cfg.scheme === 'fs' && typeof cfg.options.root === 'string'
      ? { localPath: (p: string) => join(cfg.options.root!, p) }
      : {}),
    walk: (prefix, o = {}) => walkObjects(op, prefix, o.statConcurrency ?? 16, wrap),
    readChunks: (p, o = {}) =>
      o.size !== undefined && o.size <= SMALL
        ? (async function* () {
            yield await wrap('read', p, () => op.read(p))
          })()
        : readChunks(op, p, o.buffer ?? Buffer.allocUnsafe(CHUNK), wrap),
    writeChunks: (p, chunks, o = {}) =>
      wrap('write', p, async () => {
        let w: Awaited<ReturnType<typeof op.writer>> | undefined
        let any = false
        for await (const c of chunks) {
          if (!any && !w && c.length === o.size) {
            any = true
            await op.write(p, c)
            continue
          }
          any = true
          w ??= await op.writer(p)
          await w.write(c)
        }
        if (w) await w.close()
        else if (!any) await op.write(p, Buffer.alloc(0))
      }),
    check: () => wrap('list', '/', () => op.check()),
  }
  return storage
}

const CHUNK = 1 << 20
const SMALL = 256 << 10

async function* readChunks(
  op: InstanceType<typeof import('opendal').Operator>,
  path: string,
  buffer: Buffer,
  wrap: Wrap,
): AsyncIterable<Buffer> {
  const r = await wrap('read', path, () => op.reader(path))
  for (;;) {
    // fill the buffer (a read may return less than asked before the end)
    let filled = 0
    while (filled < buffer.length) {
      const n = Number(await wrap('read', path, () => r.read(buffer.subarray(filled))))
      if (!n) break
      filled += n
    }
    if (filled) yield buffer.subarray(0, filled)
    if (filled < buffer.length) return
  }
}

type Wrap = <T>(what: string, path: string, f: () => Promise<T>) => Promise<T>
async function* walkObjects(
  op: InstanceType<typeof import('opendal').Operator>,
  prefix: string,
  conc: number,
  wrap: Wrap,
): AsyncIterable<StoredObject> {
  const lister = await wrap('list', prefix, () => op.lister(prefix, { recursive: true }))
  // entries whose listing has no metadata are stat'ed, `conc` at a time; the others are yielded at once
  const window: Array<Promise<StoredObject | null>> = []
  const statOf = (path: string): Promise<StoredObject | null> => {
    const p = op.stat(path).then(
      (m) => ({
        path,
        size: Number(m.contentLength ?? 0n),
        lastModified: m.lastModified ? new Date(m.lastModified) : null,
      }),
      (e) => {
        if (/NotFound/.test(firstLine(e))) return null // removed between the listing and the stat
        throw e
      },
    )
    p.catch(() => {}) // awaited in order below; never an unhandled rejection meanwhile
    return p
  }
  let o: StoredObject | null
  try {
    for (;;) {
      const entry = await lister.next()
      if (entry === null) break
      const path = entry.path()
      if (path.endsWith('/')) continue
      const m = entry.metadata()
      if (m.isDirectory()) continue
      const modified = m.lastModified
      if (modified !== null) {
        yield { path, size: Number(m.contentLength ?? 0n), lastModified: new Date(modified) }
        continue
      }
      window.push(statOf(path))
      if (window.length >= conc && (o = await window.shift()!)) yield o
    }
    while (window.length) if ((o = await window.shift()!)) yield o
  } catch (e) {
    if (e instanceof Error && 'exitCode' in e) throw e
    return await wrap('list', prefix, () => Promise.reject(e))
  }
}

function firstLine(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).split('\n')[0]!.slice(0, 300)
}
