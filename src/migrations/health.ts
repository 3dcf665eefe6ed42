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
  return (await checkSchemaLocked(db, revision, opts)).check
}

/** checkSchema, and whether its failure was a lock wait that timed out (the pre-flight then runs again, alone). */
async function checkSchemaLocked(
  db: Db,
  revision: string | null,
  opts: { lockTimeoutMs?: number; onRead?: () => void | Promise<void> },
): Promise<{ check: SchemaCheck; locked: boolean }> {
  const none: Suggestion = { kind: 'none', message: '', steps: [] }
  if (!revision)
    return { check: { checked: false, revision, differences: [], matches: null, suggestion: none }, locked: false }
  try {
    const lockTimeoutMs = Math.max(1, Math.floor(opts.lockTimeoutMs ?? 3000))
    const run = (d: Db) => verifySchema(d, { revision, onRead: opts.onRead })
    const v =
      db.dialect === 'postgres'
        ? await db.kysely.connection().execute(async (conn) => {
            await sql.raw(`SET lock_timeout = '${lockTimeoutMs}ms'`).execute(conn)
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
    return {
      check: { checked: v.known, revision, differences: v.differences, matches: v.matches, suggestion: v.suggestion },
      locked: false,
    }
  } catch (e) {
    const locked = (e as { code?: string }).code === '55P03'
    return {
      check: {
        checked: false,
        revision,
        differences: [],
        matches: null,
        suggestion: none,
        error: locked ? 'a table is locked by another session (a running migration or DDL?)' : (e as Error).message,
      },
      locked,
    }
  }
}

/** What the pre-flight found: warnings to show, and the refusal when the upgrade must not run. */
export interface PreflightVerdict {
  warnings: string[]
  refusal?: ConfigError
  /** the check waited for a table lock until `lock_timeout` (nothing was compared) */
  locked: boolean
}

/**
 * Pre-flight of a real upgrade: the schema must be the one expected at the current revision for the pending
 * revisions to apply cleanly. Missing or unexpected tables, columns, indexes or constraints (a half-applied earlier
 * upgrade) → a refusal (exit 4) with the differences and the safe fix; type/default differences and INVALID indexes
 * of applied revisions only warn. It only reads, so upgrade-db runs it beside the locks and the first transaction
 * (upgrade.ts), and commits nothing before its verdict.
 */
export async function preflightVerdict(
  db: Db,
  plan: Plan,
  lockTimeoutMs?: number,
  onRead?: () => void | Promise<void>,
): Promise<PreflightVerdict> {
  const warnings: string[] = []
  if (!plan.current || plan.pending.length === 0) return { warnings, locked: false }
  const { check: c, locked } = await checkSchemaLocked(db, plan.current, {
    lockTimeoutMs: lockTimeoutMs || undefined,
    onRead,
  })
  if (c.error) {
    warnings.push(`The schema could not be checked before upgrading (${c.error}); continuing.`)
    return { warnings, locked }
  }
  if (!c.checked || !c.differences.length) return { warnings, locked: false }
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
    warnings.push(
      `Schema: ${blocking.length} object(s) of revision ${first.revision} already exist (an earlier run stopped inside it); it finishes them.`,
    )
    blocking = []
  }
  for (const d of c.differences.filter((x) => !blocking.includes(x))) warnings.push(`Schema: ${d.message}`)
  if (!blocking.length) return { warnings, locked: false }
  const refusal = new ConfigError(
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
  return { warnings, refusal, locked: false }
}
