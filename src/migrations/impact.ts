/**
 * What the pending revisions will do to existing tables, for planning a maintenance window (`db status`,
 * `upgrade-db --dry-run`): per revision, each existing table it touches with its estimated row count
 * (PostgreSQL `pg_class.reltuples`, MySQL `information_schema.tables.table_rows`: planner statistics, not counts),
 * the strongest lock its statements take there, and the operations. And the data effects (`Revision.dataEffects`, the
 * one declaration of what a revision deletes, moves or rewrites): each counted (`dataEffects` of the result), and an
 * effect's preview rows listed under its revision (`pending[].preview`, e.g. the tenant_default_models duplicates
 * f55813ffe2c8 removes, per tenant). Reads only.
 *
 * Locks (PostgreSQL, https://www.postgresql.org/docs/current/explicit-locking.html): CREATE INDEX → SHARE (writes
 * wait, reads go on); CREATE INDEX CONCURRENTLY → SHARE UPDATE EXCLUSIVE (neither waits); ALTER TABLE (ADD COLUMN,
 * constraints, DROP DEFAULT) and DROP INDEX → ACCESS EXCLUSIVE (everything waits; ADD COLUMN with a constant default
 * is instant from PostgreSQL 11, before that it rewrites the table); UPDATE / DELETE / INSERT → ROW EXCLUSIVE (the
 * matching rows are rewritten). MySQL/InnoDB: DDL is online (a metadata lock at start and end), DML takes row locks.
 */
import { sql } from 'kysely'
import type { Db } from '../core/db.js'
import { isIgnoredTable } from './state.js'
import type { Revision, SqlDialect, Statement } from './types.js'

export interface TableImpact {
  table: string
  /** planner estimate; null when the statistics do not know (never analysed) */
  estimatedRows: number | null
  /** the strongest lock the revision takes on this table */
  lock: string
  /** what it does there: CREATE INDEX, ALTER TABLE, UPDATE, … */
  operations: string[]
  /** PostgreSQL < 11: ADD COLUMN with a default rewrites the whole table */
  rewrite?: boolean
}

export interface RevisionPreviewResult {
  title: string
  rows?: Record<string, unknown>[]
  error?: string
}

export interface RevisionImpact {
  revision: string
  tables: TableImpact[]
  preview?: RevisionPreviewResult
}

const PG_ORDER = [
  'ACCESS SHARE',
  'ROW SHARE',
  'ROW EXCLUSIVE',
  'SHARE UPDATE EXCLUSIVE',
  'SHARE',
  'SHARE ROW EXCLUSIVE',
  'EXCLUSIVE',
  'ACCESS EXCLUSIVE',
]
const MY_ORDER = ['row locks', 'metadata lock (online DDL)']

/** The operation and lock of one statement on its table, or null when it touches no existing table (CREATE TABLE, COMMENT). */
export function statementLock(
  dialect: SqlDialect,
  st: Statement,
  pgVersionNum = 999999,
): { op: string; lock: string; rewrite?: boolean } | null {
  const s = st.sql
    .trim()
    .replace(/^--.*$/gm, '')
    .trim()
    .toLowerCase()
  const my = dialect === 'mysql'
  if (st.lock)
    return { op: st.run ? 'data step' : /^insert/.test(s) ? 'SELECT (copy)' : (opOf(s) ?? 'data step'), lock: st.lock }
  if (/^create (unique )?index concurrently/.test(s))
    return { op: 'CREATE INDEX CONCURRENTLY', lock: 'SHARE UPDATE EXCLUSIVE' }
  if (/^create (unique )?index/.test(s)) return { op: 'CREATE INDEX', lock: my ? MY_ORDER[1]! : 'SHARE' }
  if (/^drop index/.test(s)) return { op: 'DROP INDEX', lock: my ? MY_ORDER[1]! : 'ACCESS EXCLUSIVE' }
  if (/^alter table/.test(s)) {
    const rewrite = !my && pgVersionNum < 110000 && /add column .* default /.test(s)
    return {
      op: /add column/.test(s) ? 'ADD COLUMN' : 'ALTER TABLE',
      lock: my ? MY_ORDER[1]! : 'ACCESS EXCLUSIVE',
      ...(rewrite ? { rewrite } : {}),
    }
  }
  const dml = opOf(s)
  if (dml) return { op: dml, lock: my ? MY_ORDER[0]! : 'ROW EXCLUSIVE' }
  return null
}

function opOf(s: string): string | undefined {
  const m = /^(update|delete|insert)\b/.exec(s)
  return m ? m[1]!.toUpperCase() : undefined
}

function stronger(dialect: SqlDialect, a: string, b: string): string {
  const order = dialect === 'postgres' ? PG_ORDER : MY_ORDER
  return order.indexOf(b) > order.indexOf(a) ? b : a
}

/** Table estimates for `names` (existing tables only). */
async function estimates(db: Db, names: string[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>()
  if (!names.length) return out
  const list = sql.join(names.map((n) => sql.lit(n)))
  const rows =
    db.dialect === 'postgres'
      ? (
          await sql<{
            name: string
            n: string | number
          }>`select c.relname as name, c.reltuples::bigint as n from pg_class c
            where c.relkind in ('r','p') and c.relnamespace = (select oid from pg_namespace where nspname = current_schema()) and c.relname in (${list})`.execute(
            db.kysely,
          )
        ).rows
      : (
          await sql<{
            name: string
            n: string | number | null
          }>`select table_name as name, table_rows as n from information_schema.tables
            where table_schema = database() and table_name in (${list})`.execute(db.kysely)
        ).rows
  for (const r of rows) {
    const name = String(r.name ?? (r as Record<string, unknown>).NAME ?? (r as Record<string, unknown>).TABLE_NAME)
    const n = r.n == null ? null : Number(r.n)
    out.set(name, n === null || n < 0 ? null : n)
  }
  return out
}

/**
 * The impact of `pending` on the database as it is now. Tables that do not exist yet (created by a pending
 * revision) are left out; on an empty database nothing is listed. Previews run only when their revision is the
 * first pending one or its tables already exist; a preview that fails is reported, not thrown.
 */
export async function planImpact(db: Db, pending: Revision[], existing: string[]): Promise<RevisionImpact[]> {
  if (!existing.length || !pending.length) return []
  const exists = new Set(existing)
  let pgVersion = 999999
  if (db.dialect === 'postgres') {
    const v = await sql<{ v: string }>`select current_setting('server_version_num') as v`
      .execute(db.kysely)
      .catch(() => null)
    if (v?.rows[0]) pgVersion = Number(v.rows[0].v)
  }
  const perRev: { revision: Revision; tables: Map<string, TableImpact> }[] = []
  const all = new Set<string>()
  for (const r of pending) {
    const tables = new Map<string, TableImpact>()
    for (const st of r.statements(db.dialect)) {
      if (!st.table || !exists.has(st.table) || isIgnoredTable(st.table) || st.table === 'alembic_version') continue
      const l = statementLock(db.dialect, st, pgVersion)
      if (!l) continue
      const t = tables.get(st.table) ?? { table: st.table, estimatedRows: null, lock: l.lock, operations: [] }
      t.lock = stronger(db.dialect, t.lock, l.lock)
      if (!t.operations.includes(l.op)) t.operations.push(l.op)
      if (l.rewrite) t.rewrite = true
      tables.set(st.table, t)
      all.add(st.table)
    }
    perRev.push({ revision: r, tables })
  }
  const est = await estimates(db, [...all])
  const out: RevisionImpact[] = []
  for (const { revision, tables } of perRev) {
    const impact: RevisionImpact = {
      revision: revision.revision,
      tables: [...tables.values()].map((t) => ({ ...t, estimatedRows: est.get(t.table) ?? null })),
    }
    const preview = revision.dataEffects?.find((e) => e.preview)?.preview
    if (preview) {
      try {
        const rows = (await sql.raw(preview.sql(db.dialect)).execute(db.kysely)).rows as Record<string, unknown>[]
        impact.preview = {
          title: preview.title,
          rows: rows.map((r) =>
            Object.fromEntries(
              Object.entries(r).map(([k, v]) => [k, /^(rows|count|n$)/.test(k) && v != null ? Number(v) : v]),
            ),
          ),
        }
      } catch (e) {
        impact.preview = { title: preview.title, error: (e as Error).message.split('\n')[0] }
      }
    }
    out.push(impact)
  }
  return out
}

/** Human lines for one pending revision's impact (indented under its line in db status / --dry-run). */
export function impactLines(p: { tables?: TableImpact[]; preview?: RevisionPreviewResult }, indent: string): string[] {
  const out: string[] = []
  const n = (x: number | null) => (x === null ? 'rows unknown' : `~${x.toLocaleString('en-US')} rows`)
  for (const t of p.tables ?? [])
    out.push(
      `${indent}${t.table} (${n(t.estimatedRows)}): ${t.operations.join(', ')}, lock ${t.lock}${t.rewrite ? ', rewrites the table' : ''}`,
    )
  if (p.preview) {
    if (p.preview.error) out.push(`${indent}${p.preview.title}: not readable (${p.preview.error})`)
    else if (!p.preview.rows?.length) out.push(`${indent}${p.preview.title}: none`)
    else {
      out.push(`${indent}${p.preview.title}:`)
      for (const r of p.preview.rows.slice(0, 20)) out.push(`${indent}  ${Object.values(r).join('  ')}`)
      if (p.preview.rows.length > 20) out.push(`${indent}  … ${p.preview.rows.length - 20} more (see --json)`)
    }
  }
  return out
}

export interface PendingDataEffect {
  revision: string
  table: string
  description: string
  /** rows affected now (null: could not be counted, e.g. the column does not exist yet) */
  rows: number | null
  backupTable: string | null
}

/** Count, read-only, the rows each pending revision's data step will delete, move or rewrite. */
export async function pendingDataEffects(db: Db, pending: readonly Revision[]): Promise<PendingDataEffect[]> {
  const out: PendingDataEffect[] = []
  for (const r of pending) {
    for (const e of r.dataEffects ?? []) {
      let rows: number | null = null
      try {
        const res = await sql.raw<{ n: number | string }>(e.countSql(db.dialect)).execute(db.kysely)
        rows = Number(res.rows[0]?.n ?? 0)
      } catch {
        rows = null // the table or column appears in an earlier pending revision
      }
      out.push({
        revision: r.revision,
        table: e.table,
        description: e.description,
        rows,
        backupTable: e.backupTable ?? null,
      })
    }
  }
  return out
}
