/**
 * The archive of `dify retention clean --archive-dir DIR`: one gzip'd JSON Lines file per batch and table,
 * `DIR/<group>/<batch 000001>/<table>.jsonl.gz`, each line one row as {column: exact text | null}, written and
 * fsynced before the batch's delete commits; and `DIR/manifest.json` (the columns and types of each table, the
 * dialect and release, and the batches). The checkpoint row commits in the batch's own transaction, so after a
 * crash the batches above the checkpoint are known not to have committed: their directories are removed and
 * rewritten by the rerun. The archive therefore holds every deleted row exactly once.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import type { ColumnInfo } from './sql.js'

export const ARCHIVE_FORMAT = 'dify-ops-retention-archive/1'

export type ArchivedRow = Record<string, string | null>

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT
  dialect: 'postgres' | 'mysql'
  release: string | null
  revision: string | null
  /** each table once; `groups`: the groups whose batches hold it, with its depth there (restore: parents first) */
  tables: Record<string, { pk: string[]; columns: ColumnInfo[]; groups: Record<string, number> }>
  batches: Array<{
    group: string
    batch: number
    cutoff: string
    from: string
    to: string
    rows: Record<string, number>
  }>
}

export const batchDir = (dir: string, group: string, batch: number) => join(dir, group, String(batch).padStart(6, '0'))

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // some filesystems refuse fsync on directories: the file's own fsync still holds
  }
}

/** Write `data` to `path` atomically and durably (tmp file, fsync, rename, fsync of the directory). */
export function writeDurable(path: string, data: Buffer | string): void {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  fsyncDir(join(path, '..'))
}

/** Write one batch's rows of each table (an existing directory of the same batch is replaced). */
export function writeBatch(dir: string, group: string, batch: number, rows: Map<string, ArchivedRow[]>): void {
  const d = batchDir(dir, group, batch)
  rmSync(d, { recursive: true, force: true })
  mkdirSync(d, { recursive: true })
  fsyncDir(join(d, '..'))
  for (const [table, rs] of rows) {
    if (!rs.length) continue
    const body = rs.map((r) => JSON.stringify(r)).join('\n') + '\n'
    writeDurable(join(d, `${table}.jsonl.gz`), gzipSync(body))
  }
  fsyncDir(d)
}

/** Remove batch directories above `committed` (they belong to batches whose delete did not commit). */
export function dropUncommitted(dir: string, group: string, committed: number): number[] {
  const g = join(dir, group)
  if (!existsSync(g)) return []
  const dropped: number[] = []
  for (const name of readdirSync(g)) {
    const n = Number(name)
    if (/^\d+$/.test(name) && n > committed) {
      rmSync(join(g, name), { recursive: true, force: true })
      dropped.push(n)
    }
  }
  if (dropped.length) fsyncDir(g)
  return dropped
}

export function readManifest(dir: string): ArchiveManifest | null {
  const p = join(dir, 'manifest.json')
  if (!existsSync(p)) return null
  return JSON.parse(readFileSync(p, 'utf8')) as ArchiveManifest
}

export function writeManifest(dir: string, m: ArchiveManifest): void {
  writeDurable(join(dir, 'manifest.json'), JSON.stringify(m, null, 2) + '\n')
}

/** The batches on disk: group → sorted batch numbers. */
export function listBatches(dir: string, group: string): number[] {
  const g = join(dir, group)
  if (!existsSync(g)) return []
  return readdirSync(g)
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b)
}

/** The rows of one table in one batch (none when the batch had no row of it). */
export function readBatchTable(dir: string, group: string, batch: number, table: string): ArchivedRow[] {
  const p = join(batchDir(dir, group, batch), `${table}.jsonl.gz`)
  if (!existsSync(p)) return []
  return gunzipSync(readFileSync(p))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length)
    .map((l) => JSON.parse(l) as ArchivedRow)
}

/**
 * Where an archive lives: a directory (`--archive-dir`) or a prefix of Dify's storage (`--archive-storage`), with the
 * same layout (`<group>/<batch>/<table>.jsonl.gz`, `manifest.json`) and the same exactly-once rule (a batch is written
 * completely before its delete commits; batches above the checkpoint are removed and rewritten by the rerun).
 */
export interface ArchiveStore {
  /** the directory, or `storage:<prefix>/` */
  location: string
  readManifest(): Promise<ArchiveManifest | null>
  writeManifest(m: ArchiveManifest): Promise<void>
  writeBatch(group: string, batch: number, rows: Map<string, ArchivedRow[]>): Promise<void>
  dropUncommitted(group: string, committed: number): Promise<number[]>
  listBatches(group: string): Promise<number[]>
  readBatchTable(group: string, batch: number, table: string): Promise<ArchivedRow[]>
}

export function dirStore(dir: string): ArchiveStore {
  return {
    location: dir,
    readManifest: async () => {
      mkdirSync(dir, { recursive: true })
      return readManifest(dir)
    },
    writeManifest: async (m) => writeManifest(dir, m),
    writeBatch: async (g, b, rows) => writeBatch(dir, g, b, rows),
    dropUncommitted: async (g, c) => dropUncommitted(dir, g, c),
    listBatches: async (g) => listBatches(dir, g),
    readBatchTable: async (g, b, t) => readBatchTable(dir, g, b, t),
  }
}

/** what the storage archive needs of the Dify storage (src/runtime/storage.ts) */
export interface ArchiveStorage {
  location: string
  readIfExists(path: string): Promise<Buffer | undefined>
  write(path: string, data: Buffer | string): Promise<void>
  size(path: string): Promise<number>
  delete(path: string): Promise<void>
  list(prefix: string): Promise<string[]>
}

/** `a/b/` from ` /a/b ` (never empty: the storage root is refused by the command) */
export const storagePrefix = (prefix: string) => `${prefix.trim().replace(/^\/+|\/+$/g, '')}/`

/**
 * The archive under a storage prefix. Each object is written, then its size read back and compared (a storage write
 * is all or nothing per object; the check proves it landed) before the batch's delete commits.
 */
export function storageStore(storage: ArchiveStorage, prefix: string): ArchiveStore {
  const p = storagePrefix(prefix)
  const batchPrefix = (g: string, b: number) => `${p}${g}/${String(b).padStart(6, '0')}/`
  const put = async (path: string, data: Buffer) => {
    await storage.write(path, data)
    const got = await storage.size(path)
    if (got !== data.length) throw new Error(`${path}: ${got} bytes stored, ${data.length} written`)
  }
  const batches = async (g: string) => {
    const out = new Map<number, string[]>()
    for (const path of await storage.list(`${p}${g}/`)) {
      const seg = path.slice(`${p}${g}/`.length).split('/')[0] ?? ''
      if (!/^\d+$/.test(seg)) continue
      out.set(Number(seg), [...(out.get(Number(seg)) ?? []), path])
    }
    return out
  }
  return {
    location: `storage:${p}`,
    readManifest: async () => {
      const b = await storage.readIfExists(`${p}manifest.json`)
      return b ? (JSON.parse(b.toString('utf8')) as ArchiveManifest) : null
    },
    writeManifest: (m) => put(`${p}manifest.json`, Buffer.from(JSON.stringify(m, null, 2) + '\n')),
    writeBatch: async (g, b, rows) => {
      for (const old of (await batches(g)).get(b) ?? []) await storage.delete(old)
      for (const [table, rs] of rows) {
        if (!rs.length) continue
        await put(`${batchPrefix(g, b)}${table}.jsonl.gz`, gzipSync(rs.map((r) => JSON.stringify(r)).join('\n') + '\n'))
      }
    },
    dropUncommitted: async (g, committed) => {
      const dropped: number[] = []
      for (const [n, paths] of await batches(g)) {
        if (n <= committed) continue
        for (const path of paths) await storage.delete(path)
        dropped.push(n)
      }
      return dropped
    },
    listBatches: async (g) => [...(await batches(g)).keys()].sort((a, b) => a - b),
    readBatchTable: async (g, b, t) => {
      const buf = await storage.readIfExists(`${batchPrefix(g, b)}${t}.jsonl.gz`)
      if (!buf) return []
      return gunzipSync(buf)
        .toString('utf8')
        .split('\n')
        .filter((l) => l.length)
        .map((l) => JSON.parse(l) as ArchivedRow)
    },
  }
}
