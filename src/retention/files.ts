/**
 * `dify retention clean --files quarantine`: the upload files named by the rows a clean deleted
 * (`workflow_node_execution_offload.file_id`, `message_files.upload_file_id`,
 * `human_input_form_upload_files.upload_file_id`) that nothing left names any more lose their `upload_files` row, and
 * their objects move into a storage quarantine run (the format of `dify storage quarantine`: `dify storage restore RUN`
 * puts them back, `dify storage purge RUN` deletes them after the grace period).
 *
 * Crash safety: each batch records the ids its deleted rows name in `dify_ops_retention_files` (state `named`) inside
 * its own transaction. After the last batch, the ids are checked against the reference set of
 * src/dify/storage-refs.ts (every 'id' site in SQL right before the delete; every 'text' site in one scan before),
 * and, per chunk, one transaction deletes the unreferenced upload_files rows and turns their pending rows into `move`
 * (with the object's path); the quarantine manifest naming them is written before that commit. The objects are then
 * moved (copy, size compared, original deleted) and each pending row removed once its object is in quarantine. A rerun
 * finishes any `move` left by a crash, so nothing is forgotten and nothing moves twice.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { RetentionRoot, RetentionTable } from '../dify/retention-map.js'
import type { Db } from '../core/db.js'
import { tableExists } from '../core/catalog.js'
import type { DifyDatabase } from '../core/tables.js'
import type { Storage } from '../runtime/storage.js'
import { REFERENCE_SITES, canonicalId, classifyPath, fileNameId } from '../dify/storage-refs.js'
import { collectTextReferences, existingColumns } from '../storage/refs.js'
import {
  newRunId,
  quarantinedPath,
  quarantineManifestPath,
  readManifest as readQuarantineManifest,
  type QuarantineManifest,
} from '../storage/quarantine.js'
import type { ArchivedRow, ArchiveManifest, ArchiveStore } from './archive.js'
import { readCheckpoint, writeCheckpoint } from './checkpoint.js'
import { chunks, q, textExpr, type ColumnInfo } from './sql.js'

export const RETENTION_FILES_TABLE = 'dify_ops_retention_files'
/** the archive group (and checkpoint group) of the upload_files rows deleted with --files quarantine */
export const FILES_GROUP = 'files'
export type FilesMode = 'list' | 'quarantine'
export type FilesStorage = Pick<
  Storage,
  'location' | 'read' | 'readIfExists' | 'write' | 'exists' | 'size' | 'delete' | 'copy' | 'check' | 'list'
>

export interface FilesQuarantine {
  /** 'done': every named file was decided and moved; 'not-run': storage unreachable (reason), the ids wait */
  status: 'done' | 'not-run' | 'partial'
  reason: string | null
  /** the quarantine run of this clean (null when nothing moved) */
  runId: string | null
  /** upload_files rows deleted, their objects moved into the quarantine run */
  moved: Array<{ fileId: string; path: string; size: number }>
  /** named by deleted rows but kept: still referenced, not an upload_files row, or its object shared with another row */
  kept: number
  /** rows deleted whose object was in neither place */
  lost: string[]
  failed: Array<{ path: string; error: string }>
  /** ids still waiting in the pending table (a rerun of the same clean handles them) */
  pending: number
}

type Exec = Kysely<DifyDatabase>
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const CHUNK = 500

export async function ensureFilesTable(db: Db): Promise<void> {
  await sql`create table if not exists ${sql.raw(RETENTION_FILES_TABLE)} (
    job_key varchar(64) not null,
    file_id varchar(64) not null,
    state varchar(16) not null,
    run_id varchar(40),
    path varchar(1024),
    size bigint,
    primary key (job_key, file_id)
  )`.execute(db.kysely)
}

export async function filesTableExists(db: Db): Promise<boolean> {
  return tableExists(db, RETENTION_FILES_TABLE)
}

/**
 * A dry run's view: the upload_files ids named by the rows the clean would delete (and that have an upload_files
 * row). Which of them nothing else names is decided when the clean runs, after its batches.
 */
export async function namedFiles(
  db: Db,
  roots: readonly RetentionRoot[],
  scope: (chain: RetentionTable[]) => RawBuilder<unknown>,
  limit: number,
): Promise<{ count: number; ids: string[] }> {
  const ids = new Set<string>()
  for (const root of roots) {
    const visit = async (t: RetentionTable, chain: RetentionTable[]) => {
      if (t.fileColumn && t.link) {
        const r = await sql<{ f: string }>`select distinct ${sql.raw(asText(db, t.fileColumn))} as f
          from ${sql.raw(q(db, t.table))} r where r.${sql.raw(q(db, t.link.column))} in (${scope(chain)})
          and r.${sql.raw(q(db, t.fileColumn))} is not null`.execute(db.kysely)
        for (const x of r.rows) if (UUID.test(x.f)) ids.add(x.f.toLowerCase())
      }
      for (const c of t.children) await visit(c, [...chain, c])
    }
    await visit(root, [root])
  }
  const out: string[] = []
  for (const part of chunks([...ids], CHUNK)) {
    const r = await sql<{ id: string }>`select ${sql.raw(asText(db, 'id'))} as id from upload_files
      where id in (${sql.join(part)})`.execute(db.kysely)
    out.push(...r.rows.map((x) => x.id))
  }
  return { count: out.length, ids: out.sort().slice(0, limit) }
}

/** The file ids a job has left pending (0 when the table does not exist). */
export async function pendingCount(db: Db, jobKey: string): Promise<number> {
  if (!(await filesTableExists(db))) return 0
  const r = await sql<{ n: string }>`select count(*) as n from ${sql.raw(RETENTION_FILES_TABLE)}
    where job_key = ${jobKey}`.execute(db.kysely)
  return Number(r.rows[0]?.n ?? 0)
}

/** Record the file ids a batch's deleted rows name (inside the batch's transaction). */
export async function addPending(exec: Exec, db: Db, jobKey: string, ids: readonly string[]): Promise<void> {
  for (const part of chunks([...new Set(ids)], 500)) {
    const values = sql.join(part.map((id) => sql`(${jobKey}, ${id}, 'named')`))
    if (db.dialect === 'postgres')
      await sql`insert into ${sql.raw(RETENTION_FILES_TABLE)} (job_key, file_id, state) values ${values}
        on conflict do nothing`.execute(exec)
    else
      await sql`insert ignore into ${sql.raw(RETENTION_FILES_TABLE)} (job_key, file_id, state) values ${values}`.execute(
        exec,
      )
  }
}

interface PendingRow {
  file_id: string
  state: string
  run_id: string | null
  path: string | null
  size: string | number | null
}

async function pendingRows(db: Db, jobKey: string): Promise<PendingRow[]> {
  return (
    await sql<PendingRow>`select file_id, state, run_id, path, size from ${sql.raw(RETENTION_FILES_TABLE)}
      where job_key = ${jobKey} order by file_id`.execute(db.kysely)
  ).rows
}

const asText = (db: Db, col: string) =>
  db.dialect === 'postgres' ? `${q(db, col)}::text` : `cast(${q(db, col)} as char character set utf8mb4)`

/**
 * Decide and quarantine the pending files of a job (see the file comment). `openStorage` failing, or the storage's
 * check failing, leaves every id pending and says why.
 */
export interface FilesArchive {
  store: ArchiveStore
  manifest: ArchiveManifest
  /** the columns of upload_files (the manifest holds them under the group 'files') */
  columns: ColumnInfo[]
  cutoff: string
}

export async function quarantineFiles(
  db: Db,
  openStorage: () => Promise<FilesStorage>,
  jobKey: string,
  opts: { now?: Date; signal?: AbortSignal; archive?: FilesArchive } = {},
): Promise<FilesQuarantine> {
  const out: FilesQuarantine = {
    status: 'done',
    reason: null,
    runId: null,
    moved: [],
    kept: 0,
    lost: [],
    failed: [],
    pending: 0,
  }
  let pending = await pendingRows(db, jobKey)
  if (!pending.length) return out
  let storage: FilesStorage
  try {
    storage = await openStorage()
    await storage.check()
  } catch (e) {
    out.status = 'not-run'
    out.reason = `the storage could not be reached (${(e as Error).message.split('\n')[0]}): the files are listed, not moved; a rerun of the same clean moves them`
    out.pending = pending.length
    return out
  }
  // a crash between the rows' commit and the moves: finish those moves first (their runs' manifests name them)
  await moveObjects(db, storage, jobKey, pending, out, opts.signal)

  const named = pending.filter((p) => p.state === 'named').map((p) => p.file_id)
  if (named.length && !opts.signal?.aborted) {
    // not a uuid: no upload_files row can have it
    const ids = named.filter((id) => UUID.test(id))
    const notIds = named.filter((id) => !UUID.test(id))
    if (notIds.length) await dropPending(db, jobKey, notIds)
    out.kept += notIds.length
    // the candidates' rows, and the tokens they may be named by in text (their id, and the id in the object's name)
    const rows = new Map<string, { id: string; key: string; size: number; tenantId: string | null }>()
    for (const part of chunks(ids, CHUNK)) {
      const r = await sql<{ id: string; key: string; size: string | number | null; tenant_id: string | null }>`select
          ${sql.raw(asText(db, 'id'))} as id, ${sql.raw(q(db, 'key'))} as ${sql.raw(q(db, 'key'))}, size,
          ${sql.raw(asText(db, 'tenant_id'))} as tenant_id
        from upload_files where id in (${sql.join(part)})`.execute(db.kysely)
      for (const x of r.rows)
        rows.set(x.id.toLowerCase(), {
          id: x.id,
          key: x.key,
          size: Number(x.size ?? 0),
          tenantId: x.tenant_id,
        })
    }
    const tokens = new Set<string>()
    for (const r of rows.values()) {
      tokens.add(canonicalId(r.id))
      const n = fileNameId(r.key)
      if (n) tokens.add(n)
    }
    const text = tokens.size
      ? await collectTextReferences(
          db,
          REFERENCE_SITES.filter((s) => s.form === 'text'),
          undefined,
          (t) => tokens.has(t),
        )
      : { tokens: new Set<string>() }
    const idSites = REFERENCE_SITES.filter((s) => s.form === 'id')
    const cols = await existingColumns(
      db,
      idSites.map((s) => s.table),
    )
    const sites = idSites.filter((s) => cols.get(s.table)?.has(s.column))
    const runId = newRunId(opts.now ?? new Date())
    const manifest: QuarantineManifest = {
      version: 1,
      runId,
      createdAt: (opts.now ?? new Date()).toISOString(),
      location: storage.location,
      minAgeSeconds: 0,
      objects: [],
      missing: [],
    }
    for (const part of chunks(ids, CHUNK)) {
      if (opts.signal?.aborted) break
      const decided = await db.kysely
        .transaction()
        .setIsolationLevel('read committed')
        .execute(async (trx: Exec) => {
          const locked = (
            await sql<{ id: string }>`select ${sql.raw(asText(db, 'id'))} as id from upload_files
              where id in (${sql.join(part)}) for update`.execute(trx)
          ).rows.map((x) => x.id.toLowerCase())
          // every 'id' site, now (a row added since the text scan still keeps its file)
          const named = new Set<string>()
          for (const s of locked.length ? sites : []) {
            const r = await sql<{ f: string }>`select distinct ${sql.raw(asText(db, s.column))} as f
              from ${sql.raw(q(db, s.table))} where ${sql.raw(q(db, s.column))} in (${sql.join(locked)})`.execute(trx)
            for (const x of r.rows) if (x.f) named.add(x.f.toLowerCase())
          }
          const go = locked.filter((id) => {
            const row = rows.get(id)
            if (!row || named.has(id)) return false
            const n = fileNameId(row.key)
            return !text.tokens.has(canonicalId(id)) && !(n && text.tokens.has(n))
          })
          // an object another upload_files row owns stays
          const shared = new Set<string>()
          if (go.length) {
            const keys = go.map((id) => rows.get(id)!.key)
            const r = await sql<{ id: string; key: string }>`select ${sql.raw(asText(db, 'id'))} as id,
                ${sql.raw(q(db, 'key'))} as ${sql.raw(q(db, 'key'))} from upload_files
                where ${sql.raw(q(db, 'key'))} in (${sql.join(keys)})`.execute(trx)
            const goSet = new Set(go)
            for (const x of r.rows) if (!goSet.has(x.id.toLowerCase())) shared.add(x.key)
          }
          const remove = go.filter((id) => !shared.has(rows.get(id)!.key))
          let archived: { batch: number; rows: number } | null = null
          if (remove.length && opts.archive) {
            // the rows go into the archive (group 'files') before their delete commits; the group's checkpoint
            // commits with them, so a batch directory above it is known not to have committed (removed by the rerun)
            const a = opts.archive
            const cp = await readCheckpoint(db, jobKey, FILES_GROUP)
            const batch = (cp?.batches ?? 0) + 1
            const got = (
              await sql<ArchivedRow>`select ${sql.raw(a.columns.map((c) => textExpr(db, c, 't')).join(', '))}
                from upload_files t where t.id in (${sql.join(remove)})`.execute(trx)
            ).rows
            await a.store.writeBatch(FILES_GROUP, batch, new Map([['upload_files', got]]))
            await writeCheckpoint(trx, db.dialect, {
              jobKey,
              group: FILES_GROUP,
              state: 'running',
              cutoff: a.cutoff,
              lastCreatedAt: null,
              lastId: null,
              batches: batch,
              deleted: (cp?.deleted ?? 0) + got.length,
            })
            archived = { batch, rows: got.length }
          }
          if (remove.length) {
            // the manifest names the objects before their rows' delete commits
            for (const id of remove) {
              const r = rows.get(id)!
              manifest.objects.push({
                path: r.key,
                size: r.size,
                modified: '',
                tenantId: r.tenantId,
                kind: classifyPath(r.key).kind,
              })
            }
            await storage.write(quarantineManifestPath(runId), JSON.stringify(manifest, null, 2) + '\n')
            await sql`delete from upload_files where id in (${sql.join(remove)})`.execute(trx)
          }
          await sql`delete from ${sql.raw(RETENTION_FILES_TABLE)} where job_key = ${jobKey}
            and file_id in (${sql.join(part)})`.execute(trx)
          if (remove.length) {
            const values = sql.join(
              remove.map((id) => {
                const r = rows.get(id)!
                return sql`(${jobKey}, ${id}, 'move', ${runId}, ${r.key}, ${r.size})`
              }),
            )
            await sql`insert into ${sql.raw(RETENTION_FILES_TABLE)} (job_key, file_id, state, run_id, path, size)
              values ${values}`.execute(trx)
          }
          return { removed: remove.length, kept: part.length - remove.length, archived }
        })
      if (decided.archived && opts.archive) {
        const a = opts.archive
        a.manifest.batches.push({
          group: FILES_GROUP,
          batch: decided.archived.batch,
          cutoff: a.cutoff,
          from: '',
          to: '',
          rows: { upload_files: decided.archived.rows },
        })
        await a.store.writeManifest(a.manifest)
      }
      out.kept += decided.kept
      if (decided.removed) out.runId = runId
    }
    pending = await pendingRows(db, jobKey)
    await moveObjects(db, storage, jobKey, pending, out, opts.signal)
  }
  out.pending = (await pendingRows(db, jobKey)).length
  if (out.pending || out.failed.length) out.status = 'partial'
  return out
}

async function dropPending(db: Db, jobKey: string, ids: readonly string[]): Promise<void> {
  for (const part of chunks(ids, CHUNK))
    await sql`delete from ${sql.raw(RETENTION_FILES_TABLE)} where job_key = ${jobKey}
      and file_id in (${sql.join(part)})`.execute(db.kysely)
}

/** Move the objects of the `move` rows (their upload_files rows are gone) into their runs; drop each row once done. */
async function moveObjects(
  db: Db,
  storage: FilesStorage,
  jobKey: string,
  pending: PendingRow[],
  out: FilesQuarantine,
  signal?: AbortSignal,
): Promise<void> {
  const checkedRuns = new Set<string>()
  for (const p of pending) {
    if (p.state !== 'move' || !p.path || !p.run_id) continue
    if (signal?.aborted) return
    const size = Number(p.size ?? 0)
    const to = quarantinedPath(p.run_id, p.path)
    try {
      if (!checkedRuns.has(p.run_id)) {
        await readQuarantineManifest(storage, p.run_id) // written before the rows went: it must be there
        checkedRuns.add(p.run_id)
      }
      if (await storage.exists(p.path)) {
        await storage.copy(p.path, to)
        const copied = await storage.size(to)
        if (copied !== size) throw new Error(`the copy has ${copied} bytes, the object ${size}`)
        await storage.delete(p.path)
        out.moved.push({ fileId: p.file_id, path: p.path, size })
      } else if (await storage.exists(to)) {
        out.moved.push({ fileId: p.file_id, path: p.path, size })
      } else out.lost.push(p.path)
      await dropPending(db, jobKey, [p.file_id])
    } catch (e) {
      out.failed.push({ path: p.path, error: (e as Error).message })
    }
  }
}
