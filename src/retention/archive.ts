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
