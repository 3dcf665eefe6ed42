/**
 * `dify retention restore DIR`: put archived rows back, parents before children, batch by batch; a row whose
 * primary key exists is skipped (so a restore can run twice, and an archive rewritten after a crash restores
 * each row once). Values go back from their exact text with the column's type (PostgreSQL casts to the archived
 * type; MySQL converts the text, binary columns from hex), so the rows are byte for byte the deleted ones.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { sql, type Kysely } from 'kysely'
import type { Db } from '../core/db.js'
import type { DifyDatabase } from '../core/tables.js'
import { ConfigError, NotFoundError } from '../core/errors.js'
import { RETENTION_GROUPS } from '../dify/retention-map.js'
import { FILES_GROUP } from './files.js'
import {
  ARCHIVE_FORMAT,
  dirStore,
  storageStore,
  type ArchivedRow,
  type ArchiveStorage,
  type ArchiveStore,
} from './archive.js'
import { existingTables } from '../core/catalog.js'
import { chunks, q } from './sql.js'

export interface RestoreResult {
  dryRun: boolean
  archiveDir: string
  batches: number
  tables: Array<{ table: string; archived: number; restored: number; skippedExisting: number }>
}

type Exec = Kysely<DifyDatabase>
const ROWS_PER_INSERT = 200

export async function retentionRestore(
  deps: { db: Db; storage?: () => Promise<ArchiveStorage> },
  input: { archiveDir?: string; fromStorage?: string; dryRun?: boolean; signal?: AbortSignal },
): Promise<RestoreResult> {
  const { db } = deps
  let store: ArchiveStore
  if (input.fromStorage !== undefined) {
    if (!deps.storage) throw new ConfigError('--from-storage needs the Dify storage, and none is configured.')
    store = storageStore(await deps.storage(), input.fromStorage)
  } else {
    const d = resolve(input.archiveDir ?? '.')
    if (!existsSync(d)) throw new NotFoundError(`No archive at ${d}.`, { hint: 'Give the --archive-dir of the clean.' })
    store = dirStore(d)
  }
  const dir = store.location
  const m = await store.readManifest()
  if (!m && input.fromStorage !== undefined)
    throw new NotFoundError(`No archive at ${dir}.`, { hint: 'Give the --archive-storage prefix of the clean.' })
  if (!m || m.format !== ARCHIVE_FORMAT)
    throw new ConfigError(`${dir} is not a dify retention archive (no manifest.json of ${ARCHIVE_FORMAT}).`)
  if (m.dialect !== db.dialect)
    throw new ConfigError(`The archive at ${dir} was taken from ${m.dialect}; this database is ${db.dialect}.`, {
      hint: 'Restore into a database of the same kind.',
    })
  const have = await existingTables(db)
  const missing = Object.keys(m.tables).filter((t) => !have.has(t))
  if (missing.length)
    throw new ConfigError(`This database lacks tables of the archive: ${missing.join(', ')}.`, {
      hint: `The archive is of Dify ${m.release ?? '?'}; restore into a database at that release or newer.`,
    })
  const stats = new Map<string, RestoreResult['tables'][number]>()
  let batches = 0
  // the upload_files rows of --files quarantine (group 'files') come back last, like the other rows of their batches
  for (const group of [...RETENTION_GROUPS, FILES_GROUP]) {
    const tables = Object.entries(m.tables)
      .filter(([, t]) => t.groups[group] !== undefined)
      .sort((a, b) => a[1].groups[group]! - b[1].groups[group]!)
    for (const batch of await store.listBatches(group)) {
      if (input.signal?.aborted) break
      batches++
      const work = async (exec: Exec) => {
        for (const [table, info] of tables) {
          const rows = await store.readBatchTable(group, batch, table)
          const s = stats.get(table) ?? { table, archived: 0, restored: 0, skippedExisting: 0 }
          stats.set(table, s)
          s.archived += rows.length
          if (!rows.length) continue
          const fresh = await missingRows(db, exec, table, info.pk, rows)
          s.skippedExisting += rows.length - fresh.length
          s.restored += fresh.length
          if (!input.dryRun) await insertRows(db, exec, table, info.columns, fresh)
        }
      }
      if (input.dryRun) await work(db.kysely)
      else await db.kysely.transaction().execute(work)
    }
  }
  return { dryRun: !!input.dryRun, archiveDir: dir, batches, tables: [...stats.values()] }
}

/** The rows whose primary key is not in the table (nor earlier in `rows`). */
async function missingRows(
  db: Db,
  exec: Exec,
  table: string,
  pk: string[],
  rows: ArchivedRow[],
): Promise<ArchivedRow[]> {
  const keyOf = (r: ArchivedRow) => JSON.stringify(pk.map((c) => r[c]))
  const present = new Set<string>()
  const cast = (c: string) =>
    db.dialect === 'postgres' ? `${q(db, c)}::text` : `cast(${q(db, c)} as char character set utf8mb4)`
  for (const part of chunks(rows, 500)) {
    const where =
      pk.length === 1
        ? sql`${sql.raw(q(db, pk[0]!))} in (${sql.join(part.map((r) => r[pk[0]!]))})`
        : sql.join(
            part.map(
              (r) =>
                sql`(${sql.join(
                  pk.map((c) => sql`${sql.raw(q(db, c))} = ${r[c]}`),
                  sql` and `,
                )})`,
            ),
            sql` or `,
          )
    const got =
      await sql<ArchivedRow>`select ${sql.raw(pk.map((c) => `${cast(c)} as ${q(db, c)}`).join(', '))} from ${sql.raw(q(db, table))} where ${where}`.execute(
        exec,
      )
    for (const r of got.rows) present.add(keyOf(r))
  }
  const out: ArchivedRow[] = []
  for (const r of rows) {
    const k = keyOf(r)
    if (present.has(k)) continue
    present.add(k)
    out.push(r)
  }
  return out
}

async function insertRows(
  db: Db,
  exec: Exec,
  table: string,
  columns: Array<{ name: string; type: string; binary: boolean }>,
  rows: ArchivedRow[],
): Promise<void> {
  const colList = sql.raw(columns.map((c) => q(db, c.name)).join(', '))
  const value = (c: (typeof columns)[number], v: string | null) => {
    if (db.dialect === 'postgres') return sql`cast(${v} as ${sql.raw(c.type)})`
    return c.binary ? sql`unhex(${v})` : sql`${v}`
  }
  for (const part of chunks(rows, ROWS_PER_INSERT)) {
    const values = sql.join(part.map((r) => sql`(${sql.join(columns.map((c) => value(c, r[c.name] ?? null)))})`))
    await sql`insert into ${sql.raw(q(db, table))} (${colList}) values ${values}`.execute(exec)
  }
}
