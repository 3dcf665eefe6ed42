/**
 * MySQL/MariaDB recovery after a run that stopped inside a revision (SIGKILL, lost connection, a failed statement).
 *
 * DDL is not transactional there: each statement commits on its own, and `alembic_version` is written after the
 * last one. A run that stops in the middle leaves the first k statements of the revision applied and the version
 * at the revision before. Only the first pending revision can be in that state (a run stops inside one revision
 * at most), so before running it the runner asks the schema which of its statements already took effect:
 * `statementEffect` reads a statement's target (table, index, column, constraint) from its SQL, and
 * `SchemaSnapshot` answers from information_schema. The applied prefix is skipped and the rest run.
 *
 * A statement whose effect cannot be read from the schema (UPDATE, MODIFY COLUMN, …) is "unknown": inside the
 * applied prefix it is taken as applied (statements run in order); after it, it runs again (Dify's data updates and
 * MODIFY COLUMN are repeatable).
 */
import { sql, type Kysely } from 'kysely'

/** One thing a statement leaves in the schema: present (or absent, for drops) after it ran. */
export type Effect =
  | { kind: 'table'; table: string; present: boolean }
  | { kind: 'column'; table: string; column: string; present: boolean }
  | { kind: 'index'; table: string; index: string; present: boolean }
  | { kind: 'constraint'; table: string; name: string; present: boolean }

const ID = '(?:`((?:[^`]|``)+)`|"([^"]+)"|([A-Za-z0-9_$]+))'
const id = (m: RegExpExecArray, at: number): string => (m[at] ?? m[at + 1] ?? m[at + 2] ?? '').replace(/``/g, '`')
const KEYWORDS = new Set([
  'column',
  'index',
  'key',
  'unique',
  'primary',
  'constraint',
  'foreign',
  'fulltext',
  'spatial',
  'check',
  'partition',
  'if',
])

/** The schema effects of one MySQL statement, or null when they cannot be read from the schema. */
export function statementEffect(text: string): Effect[] | null {
  const s = text.replace(/^\s*(?:--[^\n]*\n\s*)*/, '').trim()
  let m: RegExpExecArray | null
  if ((m = new RegExp(`^create\\s+table\\s+(?:if\\s+not\\s+exists\\s+)?${ID}`, 'i').exec(s)))
    return [{ kind: 'table', table: id(m, 1), present: true }]
  if ((m = new RegExp(`^drop\\s+table\\s+(?:if\\s+exists\\s+)?${ID}\\s*$`, 'i').exec(s)))
    return [{ kind: 'table', table: id(m, 1), present: false }]
  if ((m = new RegExp(`^create\\s+(?:unique\\s+|fulltext\\s+|spatial\\s+)?index\\s+${ID}\\s+on\\s+${ID}`, 'i').exec(s)))
    return [{ kind: 'index', index: id(m, 1), table: id(m, 4), present: true }]
  if ((m = new RegExp(`^drop\\s+index\\s+${ID}\\s+on\\s+${ID}\\s*$`, 'i').exec(s)))
    return [{ kind: 'index', index: id(m, 1), table: id(m, 4), present: false }]
  if ((m = new RegExp(`^rename\\s+table\\s+${ID}\\s+to\\s+${ID}\\s*$`, 'i').exec(s)))
    return [
      { kind: 'table', table: id(m, 4), present: true },
      { kind: 'table', table: id(m, 1), present: false },
    ]
  if ((m = new RegExp(`^alter\\s+table\\s+${ID}\\s+`, 'i').exec(s))) {
    const table = id(m, 1)
    const out: Effect[] = []
    for (const clause of splitTopLevel(s.slice(m[0].length))) {
      const e = clauseEffect(table, clause.trim())
      if (!e) return null
      out.push(...e)
    }
    return out.length ? out : null
  }
  return null
}

function clauseEffect(table: string, c: string): Effect[] | null {
  let m: RegExpExecArray | null
  if ((m = new RegExp(`^add\\s+(?:unique\\s+)?(?:index|key)\\s+${ID}`, 'i').exec(c)))
    return [{ kind: 'index', table, index: id(m, 1), present: true }]
  if ((m = new RegExp(`^add\\s+constraint\\s+${ID}\\s+(?:unique|primary|foreign)`, 'i').exec(c)))
    return [{ kind: 'constraint', table, name: id(m, 1), present: true }]
  if ((m = new RegExp(`^add\\s+column\\s+(?:if\\s+not\\s+exists\\s+)?${ID}`, 'i').exec(c)))
    return [{ kind: 'column', table, column: id(m, 1), present: true }]
  if ((m = new RegExp(`^add\\s+${ID}`, 'i').exec(c)) && !KEYWORDS.has(id(m, 1).toLowerCase()))
    return [{ kind: 'column', table, column: id(m, 1), present: true }]
  if ((m = new RegExp(`^drop\\s+(?:index|key)\\s+${ID}\\s*$`, 'i').exec(c)))
    return [{ kind: 'index', table, index: id(m, 1), present: false }]
  if ((m = new RegExp(`^drop\\s+(?:constraint|foreign\\s+key)\\s+${ID}\\s*$`, 'i').exec(c)))
    return [{ kind: 'constraint', table, name: id(m, 1), present: false }]
  if ((m = new RegExp(`^drop\\s+column\\s+(?:if\\s+exists\\s+)?${ID}\\s*$`, 'i').exec(c)))
    return [{ kind: 'column', table, column: id(m, 1), present: false }]
  if ((m = new RegExp(`^drop\\s+${ID}\\s*$`, 'i').exec(c)) && !KEYWORDS.has(id(m, 1).toLowerCase()))
    return [{ kind: 'column', table, column: id(m, 1), present: false }]
  if ((m = new RegExp(`^rename\\s+column\\s+${ID}\\s+to\\s+${ID}\\s*$`, 'i').exec(c)))
    return [
      { kind: 'column', table, column: id(m, 4), present: true },
      { kind: 'column', table, column: id(m, 1), present: false },
    ]
  if ((m = new RegExp(`^rename\\s+(?:to\\s+|as\\s+)?${ID}\\s*$`, 'i').exec(c)) && !KEYWORDS.has(id(m, 1).toLowerCase()))
    return [
      { kind: 'table', table: id(m, 1), present: true },
      { kind: 'table', table, present: false },
    ]
  if ((m = new RegExp(`^rename\\s+(?:index|key)\\s+${ID}\\s+to\\s+${ID}\\s*$`, 'i').exec(c)))
    return [
      { kind: 'index', table, index: id(m, 4), present: true },
      { kind: 'index', table, index: id(m, 1), present: false },
    ]
  return null
}

/** Split an ALTER TABLE's clause list on the commas outside parentheses and quotes. */
function splitTopLevel(s: string): string[] {
  const out: string[] = []
  let depth = 0
  let quote: string | null = null
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!
    if (quote) {
      if (ch === quote) quote = s[i + 1] === quote ? (i++, quote) : null
      else if (ch === '\\' && quote !== '`') i++
    } else if (ch === "'" || ch === '"' || ch === '`') quote = ch
    else if (ch === '(') depth++
    else if (ch === ')') depth--
    else if (ch === ',' && depth === 0) {
      out.push(s.slice(start, i))
      start = i + 1
    }
  }
  out.push(s.slice(start))
  return out
}

/** Tables, columns, indexes and constraints of the named tables in the current database. */
export class SchemaSnapshot {
  private constructor(
    private tables: Set<string>,
    private columns: Set<string>,
    private indexes: Set<string>,
    private constraints: Set<string>,
  ) {}

  static async read(c: Kysely<unknown>, tables: string[]): Promise<SchemaSnapshot> {
    const names = [...new Set(tables)]
    if (!names.length) return new SchemaSnapshot(new Set(), new Set(), new Set(), new Set())
    const list = sql.join(names.map((n) => sql`${n}`))
    const key = (...p: unknown[]) => p.map((x) => String(x).toLowerCase()).join('\u0000')
    const rows = async (q: ReturnType<typeof sql>) =>
      ((await q.execute(c)).rows as Array<Record<string, unknown>>).map((r) => Object.values(r))
    const t = await rows(
      sql`select table_name from information_schema.tables where table_schema = database() and table_name in (${list})`,
    )
    const col = await rows(
      sql`select table_name, column_name from information_schema.columns where table_schema = database() and table_name in (${list})`,
    )
    const idx = await rows(
      sql`select distinct table_name, index_name from information_schema.statistics where table_schema = database() and table_name in (${list})`,
    )
    const con = await rows(
      sql`select table_name, constraint_name from information_schema.table_constraints where table_schema = database() and table_name in (${list})`,
    )
    return new SchemaSnapshot(
      new Set(t.map((r) => key(r[0]))),
      new Set(col.map((r) => key(r[0], r[1]))),
      new Set(idx.map((r) => key(r[0], r[1]))),
      new Set(con.map((r) => key(r[0], r[1]))),
    )
  }

  /** true when the schema shows the effect (a created thing present, a dropped one absent) */
  shows(e: Effect): boolean {
    const key = (...p: string[]) => p.map((x) => x.toLowerCase()).join('\u0000')
    const has =
      e.kind === 'table'
        ? this.tables.has(key(e.table))
        : e.kind === 'column'
          ? this.columns.has(key(e.table, e.column))
          : e.kind === 'index'
            ? this.indexes.has(key(e.table, e.index))
            : this.constraints.has(key(e.table, e.name))
    return has === e.present
  }
}

export type StatementState = 'applied' | 'not-applied' | 'unknown'

export interface ResumePoint {
  /** statements of the revision already applied (a prefix) */
  skip: number
  states: StatementState[]
  /** set when the schema contradicts a prefix (a later statement applied, an earlier one not): stop, don't guess */
  conflict: { applied: number; missing: number } | null
}

/** How far a revision's statements already took effect, from the schema. */
export async function resumePoint(c: Kysely<unknown>, statements: string[]): Promise<ResumePoint> {
  const effects = statements.map(statementEffect)
  const tables = effects.flatMap((es) => (es ?? []).map((e) => e.table))
  const snap = await SchemaSnapshot.read(c, tables)
  const states: StatementState[] = effects.map((es) => {
    if (!es) return 'unknown'
    const shown = es.filter((e) => snap.shows(e)).length
    return shown === es.length ? 'applied' : 'not-applied'
  })
  // a revision whose first checkable statement shows no effect was not started: an object of a later statement that
  // exists already is one the revision itself replaces (e.g. drop constraint X, then add constraint X), not progress
  const first = states.findIndex((st) => st !== 'unknown')
  if (first >= 0 && states[first] === 'not-applied') return { skip: 0, states, conflict: null }
  const last = states.lastIndexOf('applied')
  const missing = states.slice(0, Math.max(0, last)).indexOf('not-applied')
  if (last >= 0 && missing >= 0) return { skip: 0, states, conflict: { applied: last, missing } }
  return { skip: last + 1, states, conflict: null }
}
