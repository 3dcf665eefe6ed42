/**
 * The registry's revisions with their SQL compiled at build time (revisions.generated.ts, written by
 * scripts/gen-revision-sql.ts before every build): a run reads the statements instead of compiling Kysely builders
 * (cold code, ~10 % of an upgrade's CPU). Only revisions whose statements are plain data take part: one with a code
 * step or a failure hook (`run`, `onError`) is compiled at run time as before. A unit test checks that the generated
 * SQL equals what the revisions compile to now (test/unit/migrations/compiled.test.ts).
 */
import { REVISION_SQL } from './revisions.generated.js'
import type { Revision, SqlDialect, Statement } from './types.js'

/** The key of a registry revision in the generated module: the baseline shares its id with a step. */
export const compiledKey = (rev: Revision): string => (rev.baseline ? `baseline:${rev.revision}` : rev.revision)

const original = new WeakMap<Revision, Revision['statements']>()
const parsed = new Map<SqlDialect, Record<string, Statement[]>>()

function generated(dialect: SqlDialect): Record<string, Statement[]> {
  let g = parsed.get(dialect)
  if (!g) parsed.set(dialect, (g = JSON.parse(REVISION_SQL[dialect]) as Record<string, Statement[]>))
  return g
}

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
      const st = generated(dialect)[key]
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
