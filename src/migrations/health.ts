/**
 * What `db status`, `upgrade-db --dry-run` and upgrade-db's pre-flight add on top of the plan: the schema check
 * against the expected schema at alembic_version (schema/verify.ts). The data effects of the pending revisions are
 * in impact.ts.
 */
import { sql } from 'kysely'
import { ConfigError } from '../core/errors.js'
import type { Db } from '../core/db.js'
import type { Plan } from './plan.js'
import { verifySchema, type SchemaDifference, type Suggestion } from './schema/verify.js'

export interface SchemaCheck {
  /** false: nothing compared (empty database, unknown revision, or the check failed: `error`) */
  checked: boolean
  revision: string | null
  differences: SchemaDifference[]
  matches: string | null
  suggestion: Suggestion
  error?: string
}

/**
 * The schema check of a database at `revision` (never throws: a failure is reported in `error`). On PostgreSQL
 * reading column defaults takes a share lock on each table, so a table locked by a running migration or DDL would
 * block it: the check runs on one connection with `lock_timeout` (default 3 s) and reports that as `error`.
 */
export async function checkSchema(
  db: Db,
  revision: string | null,
  opts: { lockTimeoutMs?: number } = {},
): Promise<SchemaCheck> {
  const none: Suggestion = { kind: 'none', message: '', steps: [] }
  if (!revision) return { checked: false, revision, differences: [], matches: null, suggestion: none }
  try {
    const run = (d: Db) => verifySchema(d, { revision })
    const v =
      db.dialect === 'postgres'
        ? await db.kysely.connection().execute(async (conn) => {
            await sql.raw(`SET lock_timeout = '${Math.max(1, Math.floor(opts.lockTimeoutMs ?? 3000))}ms'`).execute(conn)
            try {
              return await run({ ...db, kysely: conn })
            } finally {
              await sql
                .raw('RESET lock_timeout')
                .execute(conn)
                .catch(() => {})
            }
          })
        : await run(db)
    return { checked: v.known, revision, differences: v.differences, matches: v.matches, suggestion: v.suggestion }
  } catch (e) {
    const locked = (e as { code?: string }).code === '55P03'
    return {
      checked: false,
      revision,
      differences: [],
      matches: null,
      suggestion: none,
      error: locked ? 'a table is locked by another session (a running migration or DDL?)' : (e as Error).message,
    }
  }
}

/**
 * Pre-flight of a real upgrade: the schema must be the one expected at the current revision for the pending
 * revisions to apply cleanly. Missing or unexpected tables, columns, indexes or constraints (a half-applied earlier
 * upgrade) → exit 4 with the differences and the safe fix; type/default differences and INVALID indexes of applied
 * revisions only warn.
 */
export async function preflight(db: Db, plan: Plan, warn: (m: string) => void, lockTimeoutMs?: number): Promise<void> {
  if (!plan.current || plan.pending.length === 0) return
  const c = await checkSchema(db, plan.current, { lockTimeoutMs: lockTimeoutMs || undefined })
  if (c.error) {
    warn(`The schema could not be checked before upgrading (${c.error}); continuing.`)
    return
  }
  if (!c.checked || !c.differences.length) return
  let blocking = c.differences.filter(
    (d) => d.kind === 'missing' || d.kind === 'extra' || (d.kind === 'invalid-index' && d.pending),
  )
  // what a run that stopped inside the first pending revision left is finished by that revision, not refused: on
  // MySQL the runner resumes it (src/migrations/resume.ts reads each statement's effect and refuses a contradicting
  // schema); on PostgreSQL a revision that looks at the database itself (code steps: 6b5f9f8b1a2c after a failed
  // CONCURRENTLY build, b7c2d9e8a1f4 with its column already there) skips what exists, as Dify's file does
  const first = plan.pending[0]!
  const finishes = db.dialect === 'mysql' || first.statements(db.dialect).some((st) => st.run)
  if (finishes && blocking.length && blocking.every((d) => d.pending && d.revision === first.revision)) {
    warn(
      `Schema: ${blocking.length} object(s) of revision ${first.revision} already exist (an earlier run stopped inside it); it finishes them.`,
    )
    blocking = []
  }
  for (const d of c.differences.filter((x) => !blocking.includes(x))) warn(`Schema: ${d.message}`)
  if (!blocking.length) return
  throw new ConfigError(
    `The schema does not match alembic_version ${plan.current}: ${blocking.length} difference(s), e.g. ${blocking
      .slice(0, 3)
      .map((d) => d.message)
      .join('; ')}.`,
    {
      hint: c.suggestion.steps.length
        ? `${c.suggestion.message} Run: ${c.suggestion.steps.join('  then  ')}`
        : `${c.suggestion.message} See dify db status.`,
      details: { revision: plan.current, differences: c.differences, suggestion: c.suggestion, matches: c.matches },
    },
  )
}
