/**
 * The registry's revisions with their SQL compiled at build time (revisions.generated.<dialect>.ts, written by
 * scripts/gen-revision-sql.ts before every build): a run reads the statements instead of compiling Kysely builders
 * (cold code, ~10 % of an upgrade's CPU). Only revisions whose statements are plain data take part: one with a code
 * step or a failure hook (`run`, `onError`) is compiled at run time as before. Each dialect's SQL is a module of its
 * own, imported by loadPrecompiled() (migrationDeps starts it next to the connect): a process that never asks for
 * statements, or asks for one dialect, compiles none or one of them at start. Until it is loaded, statements()
 * compiles at run time — the same SQL, which a unit test checks (test/unit/migrations/compiled.test.ts).
 */
import type { Revision, SqlDialect, Statement } from './types.js'

/** The key of a registry revision in the generated module: the baseline shares its id with a step. */
export const compiledKey = (rev: Revision): string => (rev.baseline ? `baseline:${rev.revision}` : rev.revision)

const original = new WeakMap<Revision, Revision['statements']>()
const parsed = new Map<SqlDialect, Record<string, Statement[]>>()
const loading = new Map<SqlDialect, Promise<void>>()

/** Import and parse the generated SQL of `dialect` (once); statements() serves it from then on. */
export function loadPrecompiled(dialect: SqlDialect): Promise<void> {
  let p = loading.get(dialect)
  if (!p) {
    p = (
      dialect === 'postgres' ? import('./revisions.generated.postgres.js') : import('./revisions.generated.mysql.js')
    ).then(({ REVISION_SQL_JSON }) => {
      parsed.set(dialect, JSON.parse(REVISION_SQL_JSON) as Record<string, Statement[]>)
    })
    loading.set(dialect, p)
  }
  return p
}

/** Whether statements(dialect) serves the generated SQL now (loadPrecompiled finished). */
export const precompiledLoaded = (dialect: SqlDialect): boolean => parsed.has(dialect)

/** The revision's statements compiled now, from its builders (the generator and the freshness test use this). */
export function compileNow(rev: Revision, dialect: SqlDialect): Statement[] {
  return (original.get(rev) ?? rev.statements)(dialect)
}

/** Serve `statements(dialect)` from the generated SQL where it has the revision (each call gets fresh objects). */
export function usePrecompiled(revs: Revision[]): void {
  for (const rev of revs) {
    if (original.has(rev)) continue
    const compile = rev.statements
    original.set(rev, compile)
    const key = compiledKey(rev)
    rev.statements = (dialect) => {
      const st = parsed.get(dialect)?.[key]
      return st ? st.map((s) => ({ ...s })) : compile(dialect)
    }
  }
}

/** The generated form of a revision on `dialect`: its statements when all are plain data, else undefined. */
export function precompiled(rev: Revision, dialect: SqlDialect): Statement[] | undefined {
  const st = compileNow(rev, dialect)
  if (st.some((s) => s.run || s.onError)) return undefined
  return st.map((s) => ({
    sql: s.sql,
    ...(s.noTransaction ? { noTransaction: true } : {}),
    ...(s.table !== undefined ? { table: s.table } : {}),
    ...(s.lock !== undefined ? { lock: s.lock } : {}),
  }))
}
