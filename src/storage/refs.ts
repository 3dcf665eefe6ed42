import { sql, type QueryResult, type RawBuilder } from 'kysely'
import type { Db } from '../core/db.js'
import {
  FILE_TABLES,
  ID_TOKEN,
  REFERENCE_SITES,
  canonicalId,
  type FileTable,
  type ReferenceSite,
} from '../dify/storage-refs.js'

/** A row of a file table (upload_files, tool_files): the object at `key` belongs to it. */
export interface FileRow {
  table: FileTable['table']
  id: string
  tenantId: string | null
  key: string
  size: number | null
  createdAt: Date | null
}

/** The existing columns of `tables` in the connected schema (table → column set). */
export async function existingColumns(db: Db, tables: readonly string[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>()
  if (!tables.length) return out
  const schema = db.dialect === 'postgres' ? sql`current_schema()` : sql`database()`
  const list = sql.join([...new Set(tables)].map((t) => sql`${t}`))
  const r = await sql<{
    table_name: string
    column_name: string
  }>`select table_name as table_name, column_name as column_name
    from information_schema.columns where table_schema = ${schema} and table_name in (${list})`.execute(db.kysely)
  for (const row of r.rows) {
    const t = String(row.table_name)
    if (!out.has(t)) out.set(t, new Set())
    out.get(t)!.add(String(row.column_name))
  }
  return out
}

const PAGE = 2000

/** Keyset-paged scan of (id, columns…) of one table, in id order; bounded memory. */
async function* pages(db: Db, table: string, columns: string[]): AsyncIterable<Array<Record<string, unknown>>> {
  let last: string | null = null
  const cols = sql.join([sql.ref('id'), ...columns.map((c) => sql.ref(c))])
  for (;;) {
    const where: RawBuilder<unknown> = last === null ? sql`` : sql`where ${sql.ref('id')} > ${last}`
    const r: QueryResult<Record<string, unknown>> = await sql<
      Record<string, unknown>
    >`select ${cols} from ${sql.table(table)} ${where} order by ${sql.ref('id')} limit ${PAGE}`.execute(db.kysely)
    if (!r.rows.length) return
    yield r.rows
    if (r.rows.length < PAGE) return
    last = String(r.rows.at(-1)!.id)
  }
}

/** Every row of every file table, keyed by its storage key. */
export async function loadFileRows(db: Db): Promise<Map<string, FileRow[]>> {
  const cols = await existingColumns(
    db,
    FILE_TABLES.map((t) => t.table),
  )
  const byKey = new Map<string, FileRow[]>()
  for (const ft of FILE_TABLES) {
    const have = cols.get(ft.table)
    if (!have?.has(ft.keyColumn)) continue
    const extra = [ft.keyColumn, 'tenant_id', ft.sizeColumn, ft.createdColumn].filter((c) => have.has(c))
    for await (const rows of pages(db, ft.table, extra)) {
      for (const r of rows) {
        const key = r[ft.keyColumn]
        if (typeof key !== 'string' || !key) continue
        const created = have.has(ft.createdColumn) ? r[ft.createdColumn] : null
        const row: FileRow = {
          table: ft.table,
          id: String(r.id).toLowerCase(),
          tenantId: r.tenant_id == null ? null : String(r.tenant_id).toLowerCase(),
          key,
          size: r[ft.sizeColumn] == null ? null : Number(r[ft.sizeColumn]),
          createdAt: created == null ? null : created instanceof Date ? created : new Date(String(created)),
        }
        const list = byKey.get(key)
        if (list) list.push(row)
        else byKey.set(key, [row])
      }
    }
  }
  return byKey
}

/** A row whose file-id reference (an 'id' site or an `idField`) names no file row. */
export interface DanglingRef {
  table: string
  column: string
  /** the referring row's id */
  rowId: string
  fileId: string
}

export interface TextReferences {
  /** every id-shaped token found at a reference site, canonical (lower case, no dashes) */
  tokens: Set<string>
  /** the sites scanned (existing in this schema) and skipped (table or column absent) */
  scanned: ReferenceSite[]
  skipped: ReferenceSite[]
  /** with `knownFileId`: the file-id references that name no file row */
  dangling: DanglingRef[]
}

/** Collect the id tokens of every reference site that exists in the connected schema (docs/storage.md). */
export async function collectTextReferences(
  db: Db,
  sites: readonly ReferenceSite[] = REFERENCE_SITES,
  /** whether a canonical id (lower case, no dashes) is a file row's id; given, dangling references are collected */
  knownFileId?: (canonical: string) => boolean,
  /** keep only the tokens it accepts (a caller interested in a few ids holds only those) */
  only?: (canonical: string) => boolean,
): Promise<TextReferences> {
  const cols = await existingColumns(
    db,
    sites.map((s) => s.table),
  )
  const tokens = new Set<string>()
  const scanned: ReferenceSite[] = []
  const skipped: ReferenceSite[] = []
  const dangling: DanglingRef[] = []
  const byTable = new Map<string, ReferenceSite[]>()
  for (const s of sites) {
    const have = cols.get(s.table)
    if (!have?.has(s.column) || !have.has('id')) {
      skipped.push(s)
      continue
    }
    scanned.push(s)
    byTable.set(s.table, [...(byTable.get(s.table) ?? []), s])
  }
  for (const [table, ss] of byTable) {
    const columns = ss.map((s) => s.column)
    for await (const rows of pages(db, table, columns)) {
      for (const r of rows) {
        for (const site of ss) {
          const v = r[site.column]
          if (v == null) continue
          const text = typeof v === 'string' ? v : v instanceof Buffer ? v.toString('utf8') : JSON.stringify(v)
          for (const m of text.matchAll(ID_TOKEN)) {
            const id = canonicalId(m[0])
            if (!only || only(id)) tokens.add(id)
          }
          if (!knownFileId) continue
          const fileId = site.form === 'id' ? text.trim() : site.idField ? jsonField(text, site.idField) : undefined
          if (fileId && !knownFileId(canonicalId(fileId)))
            dangling.push({ table, column: site.column, rowId: String(r.id), fileId })
        }
      }
    }
  }
  return { tokens, scanned, skipped, dangling }
}

/** A string field of a JSON object text, or undefined (not JSON, not an object, absent, empty). */
function jsonField(text: string, field: string): string | undefined {
  try {
    const o = JSON.parse(text) as unknown
    const v = o && typeof o === 'object' ? (o as Record<string, unknown>)[field] : undefined
    return typeof v === 'string' && v ? v : undefined
  } catch {
    return undefined
  }
}
