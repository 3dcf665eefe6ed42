import { sql, type Kysely } from 'kysely'
import { ConfigError, DifyOpsError, InterruptedError } from '../core/errors.js'
import type { Db } from '../core/db.js'
import { pinConnection } from './lock.js'
import type { Plan } from './plan.js'
import type { DbState } from './state.js'
import { ALEMBIC_VERSION_DDL, type Revision, type SqlDialect, type Statement } from './types.js'
import { resumePoint } from './resume.js'

/**
 * The runner: applies a plan's revisions one by one.
 *
 * PostgreSQL / PGlite: one transaction per revision, holding its DDL and its alembic_version write, so a failure
 * rolls back that revision only. `noTransaction` statements (CREATE INDEX CONCURRENTLY) commit what precedes them,
 * run outside a transaction and reopen one, as Alembic's autocommit_block() does.
 * MySQL: DDL commits implicitly, so each revision's statements are announced first (event `revision`), run one by
 * one, then alembic_version is written; a failure reports what was applied and how to recover. A run that stopped
 * inside a revision (crash, kill, failed statement) is resumed: the first pending revision's statements that already
 * took effect are found in information_schema (src/migrations/resume.ts) and skipped.
 */

/** Alembic's own version table DDL, byte for byte (Dify uses the defaults: no version_table override). */

function checkId(id: string): string {
  if (!/^[0-9a-zA-Z_]{1,32}$/.test(id)) throw new Error(`invalid revision id ${JSON.stringify(id)}`)
  return id
}

/** The alembic_version write after `next` (an INSERT for the first revision, an UPDATE afterwards), as Alembic writes it. */
export function versionStatement(prev: string | null, next: string): string {
  return prev === null
    ? `INSERT INTO alembic_version (version_num) VALUES ('${checkId(next)}')`
    : `UPDATE alembic_version SET version_num='${checkId(next)}' WHERE alembic_version.version_num = '${checkId(prev)}'`
}

export interface RunOptions {
  /** wait at most this long for a table lock (PG lock_timeout, MySQL lock_wait_timeout); 0 = no limit */
  lockTimeoutMs: number
  /** cancel a single statement after this long (PG statement_timeout, MariaDB max_statement_time); 0 = no limit */
  statementTimeoutMs: number
  onEvent?: (e: RunEvent) => void
  /** asked after each revision: a reason to stop (e.g. the Redis lock was lost) */
  shouldStop?: () => string | undefined
  /** asked after each revision: the operator interrupted (SIGINT) → stop cleanly, exit 130 */
  interrupted?: () => boolean
  /** test hook (MySQL): called after each statement that ran (index in the revision); a throw simulates a crash there */
  afterStatement?: (revision: string, index: number) => void
}

export type RunEvent =
  | { type: 'wait'; lock: 'redis' | 'database'; ttlMs: number | null; waitedMs: number }
  | { type: 'revision'; revision: string; description: string; dialect: SqlDialect; statements: string[] }
  | { type: 'revision-done'; revision: string; ms: number }
  | { type: 'warn'; message: string }

export interface AppliedRevision {
  revision: string
  downRevision: string | null
  release: string
  description: string
  statements: number
  ms: number
  /** MySQL: statements of this revision an earlier, interrupted run had applied (found in the schema, skipped) */
  alreadyApplied?: number
}

/** Thrown when a revision fails: exit 1, naming the revision and the statement. */
export class MigrationFailedError extends DifyOpsError {}

const firstLine = (s: string) => s.trim().split('\n')[0]!.slice(0, 200)
const stripSemicolon = (s: string) => s.trim().replace(/;\s*$/, '')

export function lockTimeoutCode(e: unknown, dialect: SqlDialect): boolean {
  const err = e as { code?: string; errno?: number }
  return dialect === 'postgres' ? err.code === '55P03' : err.errno === 1205 || err.code === 'ER_LOCK_WAIT_TIMEOUT'
}

function statementTimeoutCode(e: unknown, dialect: SqlDialect): boolean {
  const err = e as { code?: string; errno?: number }
  return dialect === 'postgres' ? err.code === '57014' : err.errno === 1969 || err.errno === 3024
}

export async function runPlan(db: Db, plan: Plan, state: DbState, opts: RunOptions): Promise<AppliedRevision[]> {
  if (plan.problem) throw plan.problem
  if (plan.pending.length === 0) return []
  const pinned = await pinConnection(db.kysely as unknown as Kysely<unknown>)
  try {
    return db.dialect === 'postgres'
      ? await runPostgres(pinned.conn, plan, state, opts, db.type === 'postgresql')
      : await runMysql(pinned.conn, plan, state, opts)
  } finally {
    await pinned.release()
  }
}

const exec = (c: Kysely<unknown>, text: string) => sql.raw(text).execute(c)
const queryOn = (c: Kysely<unknown>) => async (text: string) =>
  (await sql.raw(text).execute(c)).rows as Record<string, unknown>[]

/** One statement of a revision: its SQL, or its code step (types.ts `run`). */
async function execStatement(c: Kysely<unknown>, st: Statement): Promise<void> {
  if (st.run) await st.run(queryOn(c))
  else await exec(c, stripSemicolon(st.sql))
}

/** A failed statement's own hook (types.ts `onError`): cleanup and a clearer message, merged into the failure. */
async function withHook(
  c: Kysely<unknown>,
  st: Statement | undefined,
  e: unknown,
  err: MigrationFailedError,
): Promise<MigrationFailedError> {
  if (!st?.onError) return err
  const better = await st.onError(queryOn(c), e).catch(() => undefined)
  if (!better) return err
  return new MigrationFailedError(better.message, {
    hint: better.hint,
    details: { ...(err.details as Record<string, unknown>), ...better.details },
    cause: e,
  })
}

/**
 * `multi`: the driver sends text without parameters as one simple query (node-postgres), so the transaction's
 * opening (BEGIN + SET LOCALs) takes one round trip instead of four.
 */
async function runPostgres(
  c: Kysely<unknown>,
  plan: Plan,
  state: DbState,
  opts: RunOptions,
  multi = false,
): Promise<AppliedRevision[]> {
  const applied: AppliedRevision[] = []
  const settings = [
    `lock_timeout = '${Math.max(0, Math.floor(opts.lockTimeoutMs))}ms'`,
    `statement_timeout = '${Math.max(0, Math.floor(opts.statementTimeoutMs))}ms'`,
  ]
  // the transaction's timeouts in one round trip; every revision but the last also commits without waiting for the
  // WAL flush (synchronous_commit off: a crash of the server can only lose the newest revisions, never half of one,
  // and the last revision's ordinary commit flushes them all)
  const setLocal = (async: boolean) =>
    `SELECT set_config('lock_timeout', '${Math.max(0, Math.floor(opts.lockTimeoutMs))}ms', true), set_config('statement_timeout', '${Math.max(0, Math.floor(opts.statementTimeoutMs))}ms', true)` +
    (async ? `, set_config('synchronous_commit', 'off', true)` : '')
  let prev = plan.current
  let needTable = state.versions === null
  for (const rev of plan.pending) {
    const stmts = rev.statements('postgres')
    opts.onEvent?.({
      type: 'revision',
      revision: rev.revision,
      description: rev.description,
      dialect: 'postgres',
      statements: stmts.map((s) => firstLine(s.sql)),
    })
    const t0 = Date.now()
    let inTx = false
    let committedPart = false
    let current: Statement | undefined
    try {
      // every revision but the last commits without waiting for its WAL flush; the last one's synchronous commit
      // flushes them all (WAL is sequential), so the end state is as durable as before and a server crash mid-run
      // can only leave alembic_version at an earlier, consistent revision (docs/migrations-runner.md)
      const open = [
        'BEGIN',
        ...settings.map((s) => `SET LOCAL ${s}`),
        ...(rev !== plan.pending.at(-1) ? ['SET LOCAL synchronous_commit = off'] : []),
      ]
      if (multi) await exec(c, open.join('; '))
      else for (const o of open) await exec(c, o)
      inTx = true
      await exec(c, setLocal(rev !== plan.pending[plan.pending.length - 1]))
      if (needTable) {
        current = { sql: ALEMBIC_VERSION_DDL, table: 'alembic_version' }
        await exec(c, ALEMBIC_VERSION_DDL)
      }
      for (const st of stmts) {
        current = st
        if (st.noTransaction) {
          await exec(c, 'COMMIT')
          inTx = false
          committedPart = true
          for (const s of settings) await exec(c, `SET ${s}`)
          try {
            await execStatement(c, st)
          } finally {
            await exec(c, 'RESET lock_timeout').catch(() => {})
            await exec(c, 'RESET statement_timeout').catch(() => {})
          }
          await exec(c, 'BEGIN')
          inTx = true
          await exec(c, setLocal(false))
        } else {
          await execStatement(c, st)
        }
      }
      current = { sql: versionStatement(prev, rev.revision), table: 'alembic_version' }
      // COMMIT stays a message of its own: a client killed while its version write waits for a lock then leaves
      // the revision uncommitted (the server would otherwise finish a multi-statement query on its own)
      await exec(c, current.sql)
      await exec(c, 'COMMIT')
      inTx = false
    } catch (e) {
      if (inTx) await exec(c, 'ROLLBACK').catch(() => {})
      throw await withHook(c, current, e, failure(e, 'postgres', rev, current, applied, committedPart))
    }
    needTable = false
    prev = rev.revision
    const ms = Date.now() - t0
    applied.push(appliedOf(rev, stmts.length, ms))
    opts.onEvent?.({ type: 'revision-done', revision: rev.revision, ms })
    stopIfAsked(opts, rev, applied, plan)
  }
  return applied
}

async function runMysql(c: Kysely<unknown>, plan: Plan, state: DbState, opts: RunOptions): Promise<AppliedRevision[]> {
  const applied: AppliedRevision[] = []
  if (opts.lockTimeoutMs > 0)
    await exec(c, `SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(opts.lockTimeoutMs / 1000))}`)
  if (opts.statementTimeoutMs > 0) {
    // MariaDB: max_statement_time (seconds); MySQL 8 has no statement timeout for DDL
    await exec(c, `SET SESSION max_statement_time = ${opts.statementTimeoutMs / 1000}`).catch(() =>
      opts.onEvent?.({
        type: 'warn',
        message: 'This MySQL server has no statement timeout for DDL; --statement-timeout is not applied.',
      }),
    )
  }
  let prev = plan.current
  try {
    if (state.versions === null) {
      try {
        await exec(c, ALEMBIC_VERSION_DDL)
      } catch (e) {
        throw failure(
          e,
          'mysql',
          plan.pending[0]!,
          { sql: ALEMBIC_VERSION_DDL, table: 'alembic_version' },
          applied,
          false,
          [],
        )
      }
    }
    for (const rev of plan.pending) {
      const stmts = rev.statements('mysql')
      opts.onEvent?.({
        type: 'revision',
        revision: rev.revision,
        description: rev.description,
        dialect: 'mysql',
        statements: stmts.map((s) => firstLine(s.sql)),
      })
      const t0 = Date.now()
      const done: string[] = []
      let current: Statement | undefined
      // only the first pending revision can have been started by an earlier run (a run stops inside one at most)
      const skip = rev === plan.pending[0] && !rev.baseline ? await resumeMysql(c, rev, stmts, opts) : 0
      for (const st of stmts.slice(0, skip)) done.push(firstLine(st.sql))
      try {
        for (const [i, st] of stmts.entries()) {
          if (i < skip) continue
          current = st
          await execStatement(c, st)
          done.push(firstLine(st.sql))
          opts.afterStatement?.(rev.revision, i)
        }
        current = { sql: versionStatement(prev, rev.revision), table: 'alembic_version' }
        await exec(c, current.sql)
      } catch (e) {
        throw await withHook(c, current, e, failure(e, 'mysql', rev, current, applied, done.length > 0, done, skip))
      }
      prev = rev.revision
      const ms = Date.now() - t0
      applied.push({ ...appliedOf(rev, stmts.length, ms), ...(skip ? { alreadyApplied: skip } : {}) })
      opts.onEvent?.({ type: 'revision-done', revision: rev.revision, ms })
      stopIfAsked(opts, rev, applied, plan)
    }
  } finally {
    await exec(c, 'SET SESSION lock_wait_timeout = DEFAULT').catch(() => {})
    if (opts.statementTimeoutMs > 0) await exec(c, 'SET SESSION max_statement_time = DEFAULT').catch(() => {})
  }
  return applied
}

/** How many of the revision's statements an earlier run already applied (announced as a warning), or a refusal. */
async function resumeMysql(c: Kysely<unknown>, rev: Revision, stmts: Statement[], opts: RunOptions): Promise<number> {
  // a revision with code steps looks at the database itself and skips what exists (as Dify's file does)
  if (stmts.some((s) => s.run)) return 0
  const r = await resumePoint(
    c,
    stmts.map((s) => s.sql),
  )
  if (r.conflict) {
    const { applied: a, missing: m } = r.conflict
    throw new ConfigError(
      `Revision ${rev.revision} cannot be resumed: the schema shows its statement ${a + 1} (\`${firstLine(stmts[a]!.sql)}\`) applied but not its statement ${m + 1} (\`${firstLine(stmts[m]!.sql)}\`), which runs before it.`,
      {
        hint: `The schema was changed outside dify-ops. Bring the revision's objects to a consistent state by hand (all of its first statements applied, or none), then run dify upgrade-db again, or complete it by hand and record it with dify db stamp ${rev.revision}.`,
        details: { revision: rev.revision, states: r.states },
      },
    )
  }
  if (r.skip)
    opts.onEvent?.({
      type: 'warn',
      message: `Revision ${rev.revision} was started by an earlier run that stopped: its first ${r.skip} of ${stmts.length} statement(s) are already in the schema; running the remaining ${stmts.length - r.skip}.`,
    })
  return r.skip
}

function appliedOf(rev: Revision, statements: number, ms: number): AppliedRevision {
  return {
    revision: rev.revision,
    downRevision: rev.downRevision,
    release: rev.release,
    description: rev.description,
    statements,
    ms,
  }
}

function stopIfAsked(opts: RunOptions, rev: Revision, applied: AppliedRevision[], plan: Plan): void {
  if (opts.interrupted?.() && rev !== plan.pending[plan.pending.length - 1]) {
    throw new InterruptedError(`Interrupted after revision ${rev.revision}; the database is at that clean revision.`, {
      hint: 'Run dify upgrade-db again to continue.',
      details: { stoppedAt: rev.revision, applied: applied.map((a) => a.revision) },
    })
  }
  const reason = opts.shouldStop?.()
  if (!reason || rev === plan.pending[plan.pending.length - 1]) return
  throw new MigrationFailedError(`Stopped after revision ${rev.revision}: ${reason}`, {
    hint: 'The database is at a clean revision; run dify upgrade-db again to continue.',
    details: { stoppedAt: rev.revision, applied: applied.map((a) => a.revision) },
  })
}

function failure(
  e: unknown,
  dialect: SqlDialect,
  rev: Revision,
  st: Statement | undefined,
  applied: AppliedRevision[],
  partial: boolean,
  doneInRevision: string[] = [],
  byEarlierRun = 0,
): MigrationFailedError {
  const err = e as { message?: string; code?: string; errno?: number }
  const stmt = st ? firstLine(st.sql) : '(unknown statement)'
  const reason = (err.message ?? String(e)).split('\n')[0]
  const at = applied.length ? applied[applied.length - 1]!.revision : null
  const details: Record<string, unknown> = {
    revision: rev.revision,
    statement: stmt,
    sqlState: err.code ?? (err.errno !== undefined ? String(err.errno) : undefined),
    applied: applied.map((a) => a.revision),
    databaseRevision: at ?? rev.downRevision,
  }
  if (lockTimeoutCode(e, dialect)) {
    const table = st?.table ? `table ${st.table}` : 'a table'
    return new MigrationFailedError(
      `Revision ${rev.revision} waited too long for a lock on ${table} and was ${dialect === 'postgres' ? 'rolled back' : 'stopped'}: another session holds it, most likely a running Dify API or worker.`,
      {
        hint: 'Run the upgrade when traffic is low or with the Dify containers stopped, or raise --lock-timeout.',
        details: {
          ...details,
          lockedTable: st?.table ?? null,
          partial: dialect === 'mysql' ? doneInRevision : undefined,
        },
        cause: e,
      },
    )
  }
  const timeout = statementTimeoutCode(e, dialect) ? ' (statement timeout; raise --statement-timeout)' : ''
  if (dialect === 'postgres') {
    return new MigrationFailedError(`Revision ${rev.revision} failed at \`${stmt}\`: ${reason}${timeout}.`, {
      hint: partial
        ? `Its statements before the non-transactional step were committed; the database is still at ${details.databaseRevision}. Fix the cause and run dify upgrade-db again.`
        : `That revision was rolled back; the database is at ${details.databaseRevision ?? 'an empty schema'}. Fix the cause and run dify upgrade-db again.`,
      details,
      cause: e,
    })
  }
  const down = (details.databaseRevision as string | null) ?? null
  const earlier = byEarlierRun ? ` (${byEarlierRun} of them by an earlier run)` : ''
  return new MigrationFailedError(
    `Revision ${rev.revision} failed at \`${stmt}\`: ${reason}${timeout}. MySQL DDL is not transactional: ${doneInRevision.length} of its ${rev.statements('mysql').length} statement(s) are applied${earlier}.`,
    {
      hint: doneInRevision.length
        ? `alembic_version still says ${down ?? '(nothing)'}. Fix the cause and run dify upgrade-db again: it finds the applied statements in the schema and continues after them. Or complete the revision by hand and record it with dify db stamp ${rev.revision}.`
        : `Nothing of this revision was applied; alembic_version says ${down ?? '(nothing)'}. Fix the cause and run dify upgrade-db again.`,
      details: {
        ...details,
        appliedInRevision: doneInRevision,
        ...(byEarlierRun ? { appliedByEarlierRun: byEarlierRun } : {}),
      },
      cause: e,
    },
  )
}

/** The SQL `runPlan` would execute, as a script (for --sql): Alembic's offline layout. */
export function planSql(
  plan: Plan,
  dialect: SqlDialect,
  opts: { createVersionTable: boolean; lockTimeoutMs: number; statementTimeoutMs: number },
): string {
  const out: string[] = []
  let prev = plan.current
  let needTable = opts.createVersionTable
  if (dialect === 'mysql') {
    if (opts.lockTimeoutMs > 0)
      out.push(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(opts.lockTimeoutMs / 1000))};`, '')
    if (needTable) out.push(ALEMBIC_VERSION_DDL + ';', '')
    needTable = false
  }
  for (const rev of plan.pending) {
    out.push(`-- Running upgrade ${prev ?? ''} -> ${rev.revision}: ${rev.description}`, '')
    if (dialect === 'postgres') {
      out.push(
        'BEGIN;',
        `SET LOCAL lock_timeout = '${opts.lockTimeoutMs}ms';`,
        `SET LOCAL statement_timeout = '${opts.statementTimeoutMs}ms';`,
      )
      if (needTable) out.push(ALEMBIC_VERSION_DDL + ';')
    }
    for (const st of rev.statements(dialect)) {
      if (st.noTransaction && dialect === 'postgres') out.push('COMMIT;', stripSemicolon(st.sql) + ';', 'BEGIN;')
      else out.push(stripSemicolon(st.sql) + ';')
    }
    out.push(versionStatement(prev, rev.revision) + ';')
    if (dialect === 'postgres') out.push('COMMIT;')
    out.push('')
    prev = rev.revision
    needTable = false
  }
  return out.join('\n')
}
