/**
 * `dify retention report`: per table of the dependency map, its rows, the rows older than the cut-off (roots) or
 * belonging to such rows (children), their estimated bytes, and the index a batch delete would use.
 */
import { sql } from 'kysely'
import type { Db } from '../core/db.js'
import type { DifyProfile } from '../dify/profile.js'
import {
  retentionMapOf,
  walk,
  type RetentionGroup,
  type RetentionRoot,
  type RetentionTable,
} from '../dify/retention-map.js'
import { existingTables } from '../core/catalog.js'
import { q, rootWhere, tableSizes, tablesIndexes, type RootFilter } from './sql.js'

export interface RetentionTableReport {
  group: RetentionGroup
  table: string
  /** the parent table and link column ("workflow_runs.id ← workflow_run_id"); null for a root */
  parent: string | null
  column: string | null
  depth: number
  /** count of all rows (exact in `retention report`; the statistics' estimate in the plan of a clean that deletes) */
  rows: number
  /**
   * rows clean would delete (older and closed roots, and everything that belongs to them); exact in `retention
   * report` and a dry run; in the plan of a clean that deletes, exact for the roots (an index range count) and
   * estimated for the children (their rows × the share of their parent's rows that goes)
   */
  rowsOlder: number
  /** the table's total size (data + indexes), from the statistics */
  tableBytes: number
  /** tableBytes × rowsOlder / rows */
  estimatedBytes: number
  /** the index the batch select/delete uses, or null when the table has none that leads with the needed columns */
  index: string | null
  /** when index is null: the index that would fix it (Dify's own name where Dify has one) */
  suggestedIndex: { name: string; ddl: string } | null
}

export interface RetentionReport {
  dialect: 'postgres' | 'mysql'
  release: string | null
  cutoff: string
  olderThanSeconds: number
  apps: string[]
  tenants: string[]
  /** false in the plan of a clean that deletes: `rows` and the children's `rowsOlder` are estimates (see above) */
  exact: boolean
  tables: RetentionTableReport[]
  /** tables of the map this release lacks (skipped) */
  absentTables: string[]
  warnings: string[]
}

export interface ReportInput {
  olderThanSeconds: number
  apps?: string[]
  tenants?: string[]
  groups?: readonly RetentionGroup[]
  now?: Date
  /** a fixed cut-off (a resumed clean keeps its own); else now − olderThanSeconds */
  cutoff?: Date
  /**
   * false: no scan of any table — the roots' rowsOlder by their (created_at, id) index range, every other count from
   * the statistics (the plan of a clean that deletes: the batches count what they delete). Default true.
   */
  exact?: boolean
  /** presentMap(db, profile, groups), when the caller has it already (one catalog query less) */
  present?: { roots: RetentionRoot[]; absent: string[] }
}

/** Cut-off as the database stores timestamps (UTC, no zone): "YYYY-MM-DD HH:MM:SS.mmm". */
export function cutoffText(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '')
}

/** The tables of the map present in this database (a fixture-checked map; a drifted schema is reported). */
export async function presentMap(
  db: Db,
  profile: Pick<DifyProfile, 'version'>,
  groups?: readonly RetentionGroup[],
): Promise<{ roots: RetentionRoot[]; absent: string[]; have: Set<string> }> {
  const have = await existingTables(db)
  const absent: string[] = []
  const keep = (t: RetentionTable): RetentionTable | null => {
    if (!have.has(t.table)) {
      absent.push(t.table)
      return null
    }
    return { ...t, children: t.children.map(keep).filter((x): x is RetentionTable => x !== null) }
  }
  const roots = retentionMapOf(profile)
    .filter((r) => !groups || groups.includes(r.group))
    .map((r) => {
      const k = keep(r)
      return k ? ({ ...k, group: r.group } as RetentionRoot) : null
    })
    .filter((x): x is RetentionRoot => x !== null)
  return { roots, absent, have }
}

/** The SELECT of the ids of `t` (a root or a child) clean would delete, as SQL text usable in IN (…). */
export function scopeSql(db: Db, chain: RetentionTable[], f: RootFilter) {
  // chain[0] is the root, chain.at(-1) the table; each child's link column IN the parent's selection
  const root = chain[0] as RetentionRoot
  let inner = sql`select r.${sql.raw(q(db, 'id'))} from ${sql.raw(q(db, root.table))} r where ${rootWhere(db, root, f)}`
  for (const t of chain.slice(1, -1)) {
    inner = sql`select ${sql.raw(q(db, 'id'))} from ${sql.raw(q(db, t.table))} where ${sql.raw(q(db, t.link!.column))} in (${inner})`
  }
  return inner
}

export async function indexFor(
  db: Db,
  t: RetentionTable,
  indexes?: Map<string, Array<{ name: string; columns: string[] }>>,
): Promise<{ index: string | null; suggestedIndex: RetentionTableReport['suggestedIndex'] }> {
  const idx = (indexes ?? (await tablesIndexes(db, [t.table]))).get(t.table) ?? []
  const want = t.index.columns
  const hit = idx.find((i) => want.every((c, k) => i.columns[k] === c)) ?? idx.find((i) => i.columns[0] === want[0])
  if (hit) return { index: hit.name, suggestedIndex: null }
  const name = t.index.difyName ?? `${t.table}_${want.join('_')}_idx`
  const cols = want.map((c) => q(db, c)).join(', ')
  const ddl =
    db.dialect === 'postgres'
      ? `CREATE INDEX CONCURRENTLY ${q(db, name)} ON ${q(db, t.table)} (${cols});`
      : `CREATE INDEX ${q(db, name)} ON ${q(db, t.table)} (${cols}) ALGORITHM=INPLACE LOCK=NONE;`
  return { index: null, suggestedIndex: { name, ddl } }
}

/**
 * Both exact counts of a table: all its rows and the rows clean would delete. PostgreSQL: one scan
 * (`count(*) filter (where …)`); MySQL: two statements.
 */
async function countRows(
  db: Db,
  root: RetentionRoot,
  t: RetentionTable,
  chain: RetentionTable[],
  depth: number,
  f: RootFilter,
): Promise<{ rows: number; rowsOlder: number }> {
  const T = sql.raw(q(db, t.table))
  const cond =
    depth === 0 ? rootWhere(db, root, f) : sql`r.${sql.raw(q(db, t.link!.column))} in (${scopeSql(db, chain, f)})`
  if (db.dialect === 'postgres') {
    const r = await sql<{
      n: string
      o: string
    }>`select count(*) as n, count(*) filter (where ${cond}) as o from ${T} r`.execute(db.kysely)
    return { rows: Number(r.rows[0]?.n ?? 0), rowsOlder: Number(r.rows[0]?.o ?? 0) }
  }
  const all = await sql<{ n: string }>`select count(*) as n from ${T}`.execute(db.kysely)
  const older = await sql<{ n: string }>`select count(*) as n from ${T} r where ${cond}`.execute(db.kysely)
  return { rows: Number(all.rows[0]?.n ?? 0), rowsOlder: Number(older.rows[0]?.n ?? 0) }
}

/** The roots clean would delete, counted along the (created_at, id) index range (no scan of the table). */
async function countOlderRoots(db: Db, root: RetentionRoot, f: RootFilter): Promise<number> {
  const r = await sql<{
    n: string
  }>`select count(*) as n from ${sql.raw(q(db, root.table))} r where ${rootWhere(db, root, f)}`.execute(db.kysely)
  return Number(r.rows[0]?.n ?? 0)
}

export async function retentionReport(
  deps: { db: Db; profile: Pick<DifyProfile, 'version'> },
  input: ReportInput,
): Promise<RetentionReport> {
  const { db, profile } = deps
  const now = input.now ?? new Date()
  const cutoff = input.cutoff ?? new Date(now.getTime() - input.olderThanSeconds * 1000)
  const f: RootFilter = { cutoff: cutoffText(cutoff), apps: input.apps ?? [], tenants: input.tenants ?? [] }
  const { roots, absent } = input.present ?? (await presentMap(db, profile, input.groups))
  const tables: RetentionTableReport[] = []
  const warnings: string[] = []
  const exact = input.exact ?? true
  const names = roots.flatMap((r) => walk(r).map((x) => x.t.table))
  const sizes = await tableSizes(db, names)
  const indexes = await tablesIndexes(db, names)
  for (const root of roots) {
    // estimated counts: the share of the parent's rows that goes (the root's share is exact)
    const visit = async (t: RetentionTable, chain: RetentionTable[], depth: number, share: number) => {
      const size = sizes.get(t.table)!
      let rows: number
      let rowsOlder: number
      if (exact) ({ rows, rowsOlder } = await countRows(db, root, t, chain, depth, f))
      else if (depth === 0) {
        rowsOlder = await countOlderRoots(db, root, f)
        rows = Math.max(size.estimatedRows, rowsOlder)
      } else {
        rows = size.estimatedRows
        rowsOlder = Math.round(rows * share)
      }
      const ix = await indexFor(db, t, indexes)
      if (!ix.index)
        warnings.push(
          `${t.table} has no index on (${t.index.columns.join(', ')}): each batch scans the table. Fix: ${ix.suggestedIndex!.ddl}`,
        )
      tables.push({
        group: root.group,
        table: t.table,
        parent: t.link?.parent ?? null,
        column: t.link?.column ?? null,
        depth,
        rows,
        rowsOlder,
        tableBytes: size.bytes,
        estimatedBytes: rows ? Math.round((size.bytes * rowsOlder) / rows) : 0,
        index: ix.index,
        suggestedIndex: ix.suggestedIndex,
      })
      const next = depth === 0 ? (rows ? rowsOlder / rows : 0) : share
      for (const c of t.children) await visit(c, [...chain, c], depth + 1, next)
    }
    await visit(root, [root], 0, 1)
  }
  return {
    dialect: db.dialect,
    release: profile.version,
    cutoff: cutoff.toISOString(),
    olderThanSeconds: input.olderThanSeconds,
    apps: [...(input.apps ?? [])],
    tenants: [...(input.tenants ?? [])],
    exact,
    tables,
    absentTables: absent,
    warnings,
  }
}

export { walk }
