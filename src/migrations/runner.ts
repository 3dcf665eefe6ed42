import { sql, type Kysely } from 'kysely'
import { ConfigError, DifyOpsError, InterruptedError } from '../core/errors.js'
import type { Db } from '../core/db.js'
import { pinConnection } from './lock.js'
import type { Plan } from './plan.js'
import type { DbState } from './state.js'
import { ALEMBIC_VERSION_DDL, type Revision, type SqlDialect, type Statement } from './types.js'
import { resumePoint } from './resume.js'
import { mark } from './timing.js'

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
  /**
   * The pre-flight, still running beside the run (upgrade.ts). No statement runs before `read` resolves (its
   * catalog reads are done: some of them wait for the locks that DDL takes), and nothing commits before `verdict`
   * resolves. On PostgreSQL the first transaction's statements run meanwhile and its COMMIT waits (a rejection rolls
   * the transaction back and is thrown as it is); a revision run on its own, and MySQL, wait before anything. `go`
   * tells the pre-flight to do its own work (load the expected schema, compare) now: once the first transaction is
   * under way, or right before the run waits for the verdict.
   */
  preflight?: { read: Promise<void>; verdict: Promise<void>; go: () => void }
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
  // MySQL commits each DDL statement as it runs: nothing of the run may start before the verdict
  if (db.dialect !== 'postgres' && opts.preflight) {
    opts.preflight.go()
    await opts.preflight.verdict
  }
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
 * PostgreSQL / PGlite. `multi` (node-postgres): text without parameters goes as one simple-query message that may
 * hold several statements. Then consecutive revisions without code steps or non-transactional statements run as a
 * group in one transaction (as Dify's Alembic runs the whole upgrade), the whole group as one message, then one
 * COMMIT (runGroup). Any failure in a group rolls the group back and runs its revisions again one by one
 * (runOne, one transaction each, statement by statement), which commits the revisions before the failing one and
 * reports the failing statement exactly as before. Without `multi` (PGlite, in-process) every revision uses runOne.
 */
async function runPostgres(
  c: Kysely<unknown>,
  plan: Plan,
  state: DbState,
  opts: RunOptions,
  multi = false,
): Promise<AppliedRevision[]> {
  const applied: AppliedRevision[] = []
  const ctx: PgRun = {
    c,
    plan,
    opts,
    multi,
    applied,
    prev: plan.current,
    needTable: state.versions === null,
    compiled: new Map(),
  }
  // a statement timeout counts per statement (PostgreSQL 13+) but the client's deadline per message: batch only without one
  const batch = multi && opts.statementTimeoutMs <= 0
  const last = plan.pending[plan.pending.length - 1]
  let i = 0
  while (i < plan.pending.length) {
    let j = i
    if (batch) while (j < plan.pending.length && batchable(ctx, plan.pending[j]!)) j++
    if (j > i) {
      const group = plan.pending.slice(i, j)
      const done = await runGroup(ctx, group, group.includes(last!))
      if (done < 0) {
        // the group failed and was rolled back: its revisions again, one transaction each (exact failure report)
        for (const rev of group) await runOne(ctx, rev)
      }
      i = j
    } else {
      await runOne(ctx, plan.pending[i]!)
      i++
    }
  }
  return applied
}

interface PgRun {
  c: Kysely<unknown>
  plan: Plan
  opts: RunOptions
  multi: boolean
  applied: AppliedRevision[]
  /** alembic_version now (committed) */
  prev: string | null
  /** alembic_version does not exist yet (fresh database) */
  needTable: boolean
  compiled: Map<Revision, Statement[]>
}

/** A revision that can run as one multi-statement message: SQL only, all of it inside a transaction. */
const batchable = (ctx: PgRun, rev: Revision) => stmtsOf(ctx, rev).every((st) => !st.run && !st.noTransaction)

/** A revision's statements, compiled once per run (Kysely's compiler is not free: ~40 revisions × a few statements). */
function stmtsOf(ctx: PgRun, rev: Revision): Statement[] {
  let s = ctx.compiled.get(rev)
  if (!s) ctx.compiled.set(rev, (s = rev.statements('postgres')))
  return s
}

/** The transaction's opening: its timeouts, and no wait for the WAL flush unless it commits the plan's last revision. */
function openSql(opts: RunOptions, durable: boolean): string[] {
  return [
    'BEGIN',
    `SET LOCAL lock_timeout = '${Math.max(0, Math.floor(opts.lockTimeoutMs))}ms'`,
    `SET LOCAL statement_timeout = '${Math.max(0, Math.floor(opts.statementTimeoutMs))}ms'`,
    ...(durable ? [] : ['SET LOCAL synchronous_commit = off']),
  ]
}

/**
 * A group of batchable revisions in one transaction, three messages: the transaction's opening; then ONE
 * simple-query message with, per revision, its alembic_version write first and its statements (the version table too
 * on a fresh database; the message starts with the first version write, so a run waiting for the version row's lock
 * shows `UPDATE alembic_version …` in pg_stat_activity); then COMMIT as a message of its own (a client killed while
 * the message runs leaves the transaction uncommitted: the server rolls it back when it finds the client gone).
 * psql sends the same SQL one statement per round trip. The run can stop (Ctrl-C, Redis lock lost) after the group:
 * what it did is committed first, as after a revision of runOne. A revision's `ms` is the group's time shared by
 * statement count (the server runs the group as one message). Returns the number of revisions applied, or -1 after
 * a failure (rolled back, nothing applied).
 */
async function runGroup(ctx: PgRun, group: Revision[], durable: boolean): Promise<number> {
  const { c, opts, plan } = ctx
  let prev = ctx.prev
  let needTable = ctx.needTable
  const parts: string[] = []
  const counts: number[] = []
  for (const rev of group) {
    const stmts = stmtsOf(ctx, rev)
    announce(opts, rev, stmts)
    if (needTable) parts.push(ALEMBIC_VERSION_DDL)
    parts.push(versionStatement(prev, rev.revision), ...stmts.map((st) => stripSemicolon(st.sql)))
    counts.push(stmts.length)
    prev = rev.revision
    needTable = false
  }
  await opts.preflight?.read
  mark(`group of ${group.length} sent`)
  const t0 = Date.now()
  try {
    await exec(c, openSql(opts, durable).join('; '))
    const running = exec(c, parts.join(';\n'))
    opts.preflight?.go()
    await running
  } catch {
    await exec(c, 'ROLLBACK').catch(() => {})
    // its revisions run again one by one (runOne waits for the pre-flight's verdict first)
    return -1
  }
  const g0 = Date.now()
  try {
    opts.preflight?.go()
    await opts.preflight?.verdict
  } catch (e) {
    await exec(c, 'ROLLBACK').catch(() => {})
    throw e
  }
  const gateMs = Date.now() - g0
  try {
    await exec(c, 'COMMIT')
  } catch {
    return -1
  }
  const ms = Date.now() - t0 - gateMs
  const total = counts.reduce((a, b) => a + b + 1, 0)
  ctx.prev = prev
  ctx.needTable = needTable
  group.forEach((rev, i) => {
    const share = Math.round((ms * (counts[i]! + 1)) / total)
    ctx.applied.push(appliedOf(rev, counts[i]!, share))
    opts.onEvent?.({ type: 'revision-done', revision: rev.revision, ms: share })
  })
  stopReason(opts, group[group.length - 1]!, plan, () => ctx.applied.map((a) => a.revision))?.()
  return group.length
}

function announce(opts: RunOptions, rev: Revision, stmts: Statement[]): void {
  opts.onEvent?.({
    type: 'revision',
    revision: rev.revision,
    description: rev.description,
    dialect: 'postgres',
    statements: stmts.map((s) => firstLine(s.sql)),
  })
}

/**
 * One revision in its own transaction, statement by statement (one round trip each): code steps, non-transactional
 * statements (commit before, run outside, begin again, as Alembic's autocommit_block()), PGlite, and the re-run of a
 * group that failed. A failure rolls back this revision only and names the statement.
 */
async function runOne(ctx: PgRun, rev: Revision): Promise<void> {
  const { c, opts, plan, applied } = ctx
  const settings = [
    `lock_timeout = '${Math.max(0, Math.floor(opts.lockTimeoutMs))}ms'`,
    `statement_timeout = '${Math.max(0, Math.floor(opts.statementTimeoutMs))}ms'`,
  ]
  if (opts.preflight) {
    opts.preflight.go()
    await opts.preflight.verdict
  }
  const stmts = stmtsOf(ctx, rev)
  announce(opts, rev, stmts)
  const t0 = Date.now()
  let inTx = false
  let committedPart = false
  let current: Statement | undefined
  try {
    // every revision but the last commits without waiting for its WAL flush; the last one's synchronous commit
    // flushes them all (WAL is sequential), so the end state is as durable as before and a server crash mid-run
    // can only leave alembic_version at an earlier, consistent revision (docs/migrations-runner.md)
    const open = openSql(opts, rev === plan.pending[plan.pending.length - 1])
    if (ctx.multi) await exec(c, open.join('; '))
    else for (const o of open) await exec(c, o)
    inTx = true
    if (ctx.needTable) {
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
        // again, with the timeouts; durable from here (as the first part's commit may not be)
        const reopen = open.slice(0, 3)
        if (ctx.multi) await exec(c, reopen.join('; '))
        else for (const o of reopen) await exec(c, o)
        inTx = true
      } else {
        await execStatement(c, st)
      }
    }
    current = { sql: versionStatement(ctx.prev, rev.revision), table: 'alembic_version' }
    // COMMIT stays a message of its own: a client killed while its version write waits for a lock then leaves
    // the revision uncommitted (the server would otherwise finish a multi-statement query on its own)
    await exec(c, current.sql)
    await exec(c, 'COMMIT')
    inTx = false
  } catch (e) {
    if (inTx) await exec(c, 'ROLLBACK').catch(() => {})
    throw await withHook(c, current, e, failure(e, 'postgres', rev, current, applied, committedPart))
  }
  ctx.needTable = false
  ctx.prev = rev.revision
  const ms = Date.now() - t0
  applied.push(appliedOf(rev, stmts.length, ms))
  opts.onEvent?.({ type: 'revision-done', revision: rev.revision, ms })
  stopIfAsked(opts, rev, applied, plan)
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
  stopReason(opts, rev, plan, () => applied.map((a) => a.revision))?.()
}

/** Whether to stop after `rev` (Ctrl-C, the Redis lock lost; never after the last revision): a thrower, or undefined. */
function stopReason(opts: RunOptions, rev: Revision, plan: Plan, applied: () => string[]): (() => never) | undefined {
  if (rev === plan.pending[plan.pending.length - 1]) return undefined
  if (opts.interrupted?.()) {
    return () => {
      throw new InterruptedError(
        `Interrupted after revision ${rev.revision}; the database is at that clean revision.`,
        {
          hint: 'Run dify upgrade-db again to continue.',
          details: { stoppedAt: rev.revision, applied: applied() },
        },
      )
    }
  }
  const reason = opts.shouldStop?.()
  if (!reason) return undefined
  return () => {
    throw new MigrationFailedError(`Stopped after revision ${rev.revision}: ${reason}`, {
      hint: 'The database is at a clean revision; run dify upgrade-db again to continue.',
      details: { stoppedAt: rev.revision, applied: applied() },
    })
  }
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
