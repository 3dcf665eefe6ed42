import { createHash } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { sql } from 'kysely'
import type { Db } from '../core/db.js'
import type { Storage } from '../runtime/storage.js'
import { parseStorage, type StorageConfig } from '../config/schema.js'
import { collectRaw } from '../config/load.js'
import { FILE_TABLES } from '../dify/storage-refs.js'
import { ConfigError, PartialError } from '../core/errors.js'
import { existingColumns } from './refs.js'
import { listObjects, ObjectCopier } from './object-io.js'

/** Where the checkpoints of `storage migrate` live: a local append-only log per (source, target) pair. */
export const MIGRATE_CHECKPOINT_DIR = join('.dify-ops', 'storage-migrate')
/** Without --verify, one object in SAMPLE_EVERY (and every key object) is compared by content hash after its copy. */
export const SAMPLE_EVERY = 20
/** objects whose loss breaks Dify at once: always hash-verified */
const KEY_OBJECT = /^(privkeys\/|\.dify_secret_key$)/

type MStorage = Pick<
  Storage,
  'location' | 'walk' | 'readChunks' | 'writeChunks' | 'size' | 'delete' | 'check' | 'localPath'
>

export interface MigrateOptions {
  prefixes: string[]
  dryRun: boolean
  verify: boolean
  deleteSource: boolean
  overwrite: boolean
  concurrency: number
  /** the checkpoint log (`checkpointPath`); undefined = no checkpoint (tests of the plan only) */
  checkpoint?: string
  confirmOverwrite?: (plan: { objects: number; bytes: number }) => Promise<void>
  confirmDelete?: (plan: { objects: number; bytes: number }) => Promise<void>
  onProgress?: (done: number, total: number) => void
  signal?: AbortSignal
}

export interface MigrateResult {
  dryRun: boolean
  source: string
  target: string
  prefixes: string[]
  checkpoint: string | null
  /** objects of the source (under the prefixes) */
  objects: number
  bytes: number
  /** copied in this run (or, with --dry-run, to copy) */
  copied: number
  copiedBytes: number
  /** already at the target with the same content (by the checkpoint and size, or by hash) */
  skipped: number
  /** target objects with the same key and different content (copied over only with --overwrite) */
  conflicts: Array<{ path: string; sourceSize: number; targetSize: number }>
  overwritten: number
  /** objects of the target that the source does not have (left alone) */
  targetOnly: number
  verified: { size: number; hash: number; mismatches: Array<{ path: string; reason: string }> }
  failed: Array<{ path: string; error: string }>
  sourceDeleted: number
  keyObjects: { privkeys: number; secretKey: boolean }
  database: DatabaseKeyCheck | null
}

export interface DatabaseKeyCheck {
  /** file rows read (upload_files, tool_files) */
  rows: number
  /** rows whose key is an absolute URL or path instead of a storage key (would not follow the move) */
  absolute: Array<{ table: string; id: string; key: string }>
  /** upload_files.storage_type values and their counts: a record of the first writer, never read by Dify */
  storageTypes: Record<string, number>
}

/**
 * The target's storage settings: only the storage variables of Dify (STORAGE_TYPE, OPENDAL_*, S3_*, …) read from
 * `file`, never from the environment or ./.env; a relative fs root is relative to `cwd`, as for the source.
 */
export function targetStorageConfig(file: string, cwd: string): StorageConfig {
  return parseStorage(collectRaw({ env: {}, envFile: file, noDotenv: true, cwd }), cwd)
}

/** The checkpoint log of a (source, target) pair. */
export function checkpointPath(cwd: string, source: string, target: string): string {
  const id = createHash('sha256').update(`${source}\n${target}`).digest('hex').slice(0, 16)
  return resolve(cwd, MIGRATE_CHECKPOINT_DIR, `${id}.log`)
}

/**
 * Lines: `S\t<path>` before an object's copy starts, `D\t<path>\t<size>\t<sha256 | ->` once it is copied and checked
 * (the sha256 of the source bytes for an object compared by content, `-` for one checked by size only).
 */
export function readCheckpoint(file: string): { started: Set<string>; done: Map<string, number> } {
  const started = new Set<string>()
  const done = new Map<string, number>()
  if (!existsSync(file)) return { started, done }
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [k, path, size] = line.split('\t')
    if (!path) continue // a line cut by a kill
    if (k === 'S') started.add(path)
    else if (k === 'D' && size !== undefined && /^\d+$/.test(size)) done.set(path, Number(size))
  }
  return { started, done }
}

/** `S` lines are written this many objects ahead, in one write */
const START_BATCH = 64
/** `D` lines wait at most this long (ms), or for this many, before they are written in one write */
const DONE_FLUSH_MS = 100
const DONE_BATCH = 256

/**
 * The checkpoint log, appended in batches: the `S` lines of the next START_BATCH objects in one write before the
 * first of them is opened; the `D` lines of finished objects gathered and written every DONE_FLUSH_MS or DONE_BATCH
 * objects (and at the end). A SIGKILL so loses at most the `D` lines of the last DONE_FLUSH_MS: those objects are
 * started and not done, so the rerun copies them again; an object with a `D` line is never rewritten.
 */
class CheckpointLog {
  private readonly fd: number | undefined
  private pending: string[] = []
  private last = performance.now()
  private timer: ReturnType<typeof setTimeout> | undefined
  constructor(file: string | undefined) {
    if (file) mkdirSync(resolve(file, '..'), { recursive: true })
    this.fd = file ? openSync(file, 'a') : undefined
  }
  /** `S` lines for `items[from…]` (up to START_BATCH); the index after the last one written */
  started(items: Array<{ path: string }>, from: number): number {
    const end = Math.min(items.length, from + START_BATCH)
    if (this.fd !== undefined) {
      let out = ''
      for (let i = from; i < end; i++) out += `S\t${items[i]!.path}\n`
      writeSync(this.fd, out)
    }
    return end
  }
  done(line: string): void {
    this.pending.push(line)
    if (this.pending.length >= DONE_BATCH || performance.now() - this.last >= DONE_FLUSH_MS) this.flush()
    else this.timer ??= setTimeout(() => this.flush(), DONE_FLUSH_MS)
  }
  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.fd !== undefined && this.pending.length) writeSync(this.fd, this.pending.join(''))
    this.pending = []
    this.last = performance.now()
  }
  close(): void {
    this.flush()
    if (this.fd !== undefined) closeSync(this.fd)
  }
}

/** Refuse a target that is the source, or an fs root inside the other's (the copy would read its own output). */
export function assertDistinct(source: StorageConfig, target: StorageConfig): void {
  const same = source.location === target.location
  const nested =
    source.scheme === 'fs' &&
    target.scheme === 'fs' &&
    [source.options.root!, target.options.root!].some((a, i, r) => {
      const b = r[1 - i]!
      return (b + sep).startsWith(a.replace(/\/+$/, '') + sep)
    })
  if (same || nested)
    throw new ConfigError(`The target storage ${target.location} is the source storage or inside it.`, {
      hint: 'Give --to-env-file the settings of another storage (STORAGE_TYPE, OPENDAL_* …).',
    })
}

/** A task's read buffers (one per storage side), reused across its objects: memory flat, no allocation per chunk. */
const CHUNK = 1 << 20
const buffers = () => [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const

/** Run `f` over `items`, `n` at a time; stops taking new items when `signal` aborts. */
async function pool<T>(
  items: T[],
  n: number,
  f: (t: T, i: number, bufs: readonly [Buffer, Buffer]) => Promise<void>,
  signal?: AbortSignal,
) {
  let next = 0
  const worker = async () => {
    const bufs = buffers()
    while (next < items.length && !signal?.aborted) {
      const i = next++
      await f(items[i]!, i, bufs)
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker))
}

/**
 * Copy every object of `source` (under `prefixes`) to `target`: plan (both listings and the checkpoint), refuse
 * different objects at the same keys unless `overwrite`, copy streamed and concurrently with a checkpoint line before
 * and after each object, verify (size always; content hash on a sample, or on every object with `verify` or
 * `deleteSource`), and with `deleteSource`, after its own confirmation, delete the source objects.
 * `target` is null under --dry-run when it does not exist yet (an fs root not created): it is then empty.
 */
export async function migrateStorage(
  deps: { source: MStorage; target: MStorage | null; targetLocation: string; db?: Db },
  o: MigrateOptions,
): Promise<MigrateResult> {
  const { source, target } = deps
  await target?.check() // unreachable: ConnectError (exit 5) before anything is read or written
  const under = (p: string) => !o.prefixes.length || o.prefixes.some((x) => p.startsWith(x))
  const objects: Array<{ path: string; size: number }> = []
  for await (const x of listObjects(source)) if (under(x.path)) objects.push({ path: x.path, size: x.size })
  const inTarget = new Map<string, number>()
  if (target) for await (const x of listObjects(target)) inTarget.set(x.path, x.size)
  const copier = new ObjectCopier(source, target ?? source)
  const cp = o.checkpoint ? readCheckpoint(o.checkpoint) : { started: new Set<string>(), done: new Map() }
  const r: MigrateResult = {
    dryRun: o.dryRun,
    source: source.location,
    target: deps.targetLocation,
    prefixes: o.prefixes,
    checkpoint: o.checkpoint ?? null,
    objects: objects.length,
    bytes: objects.reduce((a, x) => a + x.size, 0),
    copied: 0,
    copiedBytes: 0,
    skipped: 0,
    conflicts: [],
    overwritten: 0,
    targetOnly: 0,
    verified: { size: 0, hash: 0, mismatches: [] },
    failed: [],
    sourceDeleted: 0,
    keyObjects: {
      privkeys: objects.filter((x) => x.path.startsWith('privkeys/')).length,
      secretKey: objects.some((x) => x.path === '.dify_secret_key'),
    },
    database: deps.db ? await checkDatabaseKeys(deps.db) : null,
  }
  // plan: copy, skip (same content) or conflict
  const fullHash = o.verify || o.deleteSource
  const toCopy: Array<{ path: string; size: number }> = []
  const same: Array<{ path: string; size: number }> = []
  const compare: Array<{ path: string; size: number }> = []
  for (const x of objects) {
    const t = inTarget.get(x.path)
    inTarget.delete(x.path) // what remains is the target's own
    if (t === undefined || (cp.started.has(x.path) && !cp.done.has(x.path))) toCopy.push(x)
    else if (t !== x.size) r.conflicts.push({ path: x.path, sourceSize: x.size, targetSize: t })
    else if (cp.done.get(x.path) === x.size && !fullHash)
      same.push(x) // copied by an earlier run: size checked
    else compare.push(x) // same size, not copied by us (or --verify): the same only if the bytes are
  }
  r.targetOnly = inTarget.size
  inTarget.clear()
  await pool(compare, o.concurrency, async (x, _i, [b1, b2]) => {
    const [a, b] = await Promise.all([
      copier.hash('source', x.path, x.size, b1),
      copier.hash('target', x.path, x.size, b2),
    ])
    if (a === b) {
      same.push(x)
      r.verified.hash++ // compared by content already
    } else r.conflicts.push({ path: x.path, sourceSize: x.size, targetSize: x.size })
  })
  r.skipped = same.length
  if (r.conflicts.length && !o.overwrite) {
    const first = r.conflicts[0]!
    throw new ConfigError(
      `The target ${deps.targetLocation} already holds ${r.conflicts.length} objects with different content at the same keys (first: ${first.path}, ${first.targetSize} bytes there, ${first.sourceSize} here); nothing was copied.`,
      {
        hint: 'Give an empty target, remove those objects, or pass --overwrite to replace them.',
        details: { conflicts: r.conflicts.slice(0, 100) },
      },
    )
  }
  const conflicting = new Set(r.conflicts.map((c) => c.path))
  for (const c of r.conflicts) toCopy.push({ path: c.path, size: c.sourceSize })
  r.copied = toCopy.length
  r.copiedBytes = toCopy.reduce((a, x) => a + x.size, 0)
  if (o.dryRun || o.signal?.aborted) return r
  if (r.conflicts.length)
    await o.confirmOverwrite?.({
      objects: r.conflicts.length,
      bytes: r.conflicts.reduce((a, x) => a + x.targetSize, 0),
    })

  // copy: `S` before, `D` after the object is written and checked (both in batches: CheckpointLog)
  const log = new CheckpointLog(o.checkpoint)
  let startedUpTo = 0
  r.copied = 0
  r.copiedBytes = 0
  let doneCount = 0
  try {
    await pool(
      toCopy,
      o.concurrency,
      async (x, i, [b1, b2]) => {
        // the `S` lines of the next objects, in one write, before the first of them is opened
        if (i >= startedUpTo) startedUpTo = log.started(toCopy, i)
        try {
          const compared = fullHash || KEY_OBJECT.test(x.path) || i % SAMPLE_EVERY === 0
          const { written, digest } = await copier.copy(x.path, x.size, b1, compared)
          r.verified.size++
          if (written !== x.size) throw new Error(`the copy has ${written} bytes, the source ${x.size}`)
          if (compared) {
            const back = await copier.hash('target', x.path, x.size, b2)
            r.verified.hash++
            if (back !== digest) throw new Error('the copy differs from the source (sha256)')
          }
          log.done(`D\t${x.path}\t${x.size}\t${digest ?? '-'}\n`)
          r.copied++
          r.copiedBytes += x.size
          if (conflicting.has(x.path)) r.overwritten++
        } catch (e) {
          const error = (e as Error).message
          if (/differs|bytes, the source/.test(error)) r.verified.mismatches.push({ path: x.path, reason: error })
          r.failed.push({ path: x.path, error })
        }
        o.onProgress?.(++doneCount, toCopy.length)
      },
      o.signal,
    )
  } finally {
    log.close()
  }
  if (o.signal?.aborted) return r

  // the objects skipped as already there: size from the listings (and content, compared above, with --verify)
  r.verified.size += same.length
  if (r.failed.length || r.verified.mismatches.length) {
    const first = r.failed[0] ?? { path: r.verified.mismatches[0]!.path, error: r.verified.mismatches[0]!.reason }
    throw new PartialError(
      `${r.failed.length + r.verified.mismatches.length} of ${objects.length} objects are not at the target as they are at the source (first: ${first.path}: ${first.error}); the source was not deleted.`,
      { hint: 'Run the same migrate again: objects already copied are skipped.', details: { ...r } },
    )
  }
  if (o.deleteSource && !o.signal?.aborted) {
    await o.confirmDelete?.({ objects: objects.length, bytes: r.bytes })
    // every copy on disk (fsync on an fs target) before the first source object goes
    await pool(objects, o.concurrency, (x) => copier.durable(x.path), o.signal)
    for (const x of objects) {
      if (o.signal?.aborted) break
      await source.delete(x.path)
      r.sourceDeleted++
    }
  }
  return r
}

/**
 * The database holds storage keys (`upload_files.key`, `tool_files.file_key`), not URLs: moving the objects changes
 * nothing there. Checked: rows whose key is an absolute URL or path (which would not follow) are listed.
 */
export async function checkDatabaseKeys(db: Db): Promise<DatabaseKeyCheck> {
  const cols = await existingColumns(
    db,
    FILE_TABLES.map((t) => t.table),
  )
  const out: DatabaseKeyCheck = { rows: 0, absolute: [], storageTypes: {} }
  for (const ft of FILE_TABLES) {
    if (!cols.get(ft.table)?.has(ft.keyColumn)) continue
    const k = sql.ref(ft.keyColumn)
    const n = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(ft.table)}`.execute(db.kysely)
    out.rows += Number(n.rows[0]?.n ?? 0)
    const abs = await sql<{ id: string; key: string }>`select id, ${k} as ${sql.ref('key')} from ${sql.table(ft.table)}
      where ${k} like ${'http://%'} or ${k} like ${'https://%'} or ${k} like ${'/%'} or ${k} like ${'s3://%'} limit 100`.execute(
      db.kysely,
    )
    for (const row of abs.rows) out.absolute.push({ table: ft.table, id: String(row.id), key: row.key })
  }
  if (cols.get('upload_files')?.has('storage_type')) {
    const st = await sql<{
      t: string
      n: number | string
    }>`select storage_type as t, count(*) as n from upload_files group by storage_type`.execute(db.kysely)
    for (const row of st.rows) out.storageTypes[String(row.t)] = Number(row.n)
  }
  return out
}
