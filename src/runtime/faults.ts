/**
 * Runtime fault handling shared by every command: the limits every connection runs with (lock wait, statement
 * time, per-round-trip deadline), what has been written so far (to tell exit 5 from exit 7), the interrupt
 * (SIGINT) that cancels in-flight statements on the server, and the mapping of driver errors (lock wait, timeout,
 * lost connection) to one sentence and an exit code. Facts and defaults: docs/configuration.md "Timeouts and faults".
 */
import { BusyError, ConnectError, DifyOpsError, ExitCode, InterruptedError, PartialError } from '../core/errors.js'

export interface Limits {
  /** PG lock_timeout / MySQL innodb_lock_wait_timeout + lock_wait_timeout; 0 = wait forever */
  lockTimeoutMs: number
  /** PG statement_timeout / MariaDB max_statement_time / MySQL max_execution_time (SELECT only); 0 = no limit */
  statementTimeoutMs: number
  /** DIFY_OPS_COMMAND_TIMEOUT: one Redis command, or one database round trip beyond the statement timeout */
  commandTimeoutMs: number
  /** the lock/statement values came from a flag (they then win over DB_EXTRAS options=-c …) */
  explicit?: { lock?: boolean; statement?: boolean }
}

/** The documented defaults (seconds): lock 5, statement 60, command 10. */
export const DEFAULT_LOCK_TIMEOUT_S = 5
export const DEFAULT_STATEMENT_TIMEOUT_S = 60
export { DEFAULT_COMMAND_TIMEOUT_S } from '../config/schema.js'

export type Service = 'database' | 'Redis' | 'Celery broker'

export interface Fault {
  service: Service
  kind: 'lost' | 'deadline'
  /** one clause, e.g. "the connection was closed (Connection terminated unexpectedly)" */
  reason: string
}

/** Error raised by our own deadline on a round trip (Redis command or database query). */
export class DeadlineError extends Error {
  readonly code = 'DIFY_OPS_DEADLINE'
  constructor(
    readonly service: Service,
    readonly ms: number,
    readonly what?: string,
  ) {
    super(
      `${service === 'database' ? 'the metadata database' : service === 'Redis' ? 'Redis' : 'the Celery broker'} did not answer within ${fmtS(ms)} (${service === 'database' ? 'statement timeout + ' : ''}DIFY_OPS_COMMAND_TIMEOUT)`,
    )
  }
}

export const fmtS = (ms: number) => `${Math.round(ms / 100) / 10} s`

/**
 * Per-runtime state of faults: writes done, the first connection fault, the interrupt. One per Runtime; the drivers
 * (src/runtime/db.ts, redis.ts) report into it.
 */
export class Guard {
  interrupted = false
  /** write statements committed to the metadata database, write commands acknowledged by Redis */
  readonly writes = { database: 0, redis: 0 }
  fault?: Fault
  /** the first lock wait that timed out, with the table it was on */
  lockWait?: { table: string | null }
  #cancellers = new Set<() => Promise<void>>()

  noteFault(f: Fault): void {
    this.fault ??= f
  }

  /** Register a function that cancels whatever this driver has in flight; returns the unregister function. */
  onInterrupt(cancel: () => Promise<void>): () => void {
    this.#cancellers.add(cancel)
    return () => this.#cancellers.delete(cancel)
  }

  /** SIGINT: refuse new database statements (except ROLLBACK) and cancel the in-flight ones on the server. */
  async interrupt(): Promise<void> {
    this.interrupted = true
    await Promise.all([...this.#cancellers].map((c) => c().catch(() => {})))
  }

  wrote(): boolean {
    return this.writes.database > 0 || this.writes.redis > 0
  }

  /** "3 database write(s) committed and 2 Redis write(s) made" or "nothing was written" */
  writtenText(): string {
    const parts: string[] = []
    if (this.writes.database) parts.push(`${this.writes.database} database write statement(s) had been committed`)
    if (this.writes.redis) parts.push(`${this.writes.redis} Redis write(s) had been made`)
    return parts.length ? `Before that, ${parts.join(' and ')}` : 'Nothing had been written'
  }
}

// ------------------------------------------------------------------------------------------- SQL classification

/** A statement that changes data or schema (counted as a write once committed; a PostgreSQL DO block counts as one). */
export function isWriteSql(text: string): boolean {
  return /^\s*(?:with\b[\s\S]*?\b(?:insert|update|delete)\b|insert|update|delete|merge|replace|create|alter|drop|truncate|rename|grant|revoke|comment|do)\b/i.test(
    text,
  )
}

export type TxVerb = 'begin' | 'commit' | 'rollback' | null
export function txVerb(text: string): TxVerb {
  const t = text.trim().toLowerCase()
  if (/^(begin|start transaction)\b/.test(t)) return 'begin'
  if (/^(commit|end)\b/.test(t)) return 'commit'
  if (/^(rollback|abort)\b/.test(t) && !/^rollback\s+to\b/.test(t)) return 'rollback'
  return null
}

/** The table a statement works on, for messages: update X / insert into X / delete from X / from X / lock table X. */
export function sqlTable(text: string | undefined): string | null {
  if (!text) return null
  const m = /\b(?:update|into|from|table|join)\s+((?:[`"]?[\w$]+[`"]?\.)?[`"]?[\w$]+[`"]?)/i.exec(text)
  return m ? m[1]!.replace(/[`"]/g, '') : null
}

/** Per-connection bookkeeping of writes inside and outside transactions. */
export class WriteTracker {
  #inTx = false
  #pending = 0
  constructor(private readonly guard: Guard) {}
  /** call after a statement succeeded */
  done(text: string, ddlCommits: boolean): void {
    const v = txVerb(text)
    if (v === 'begin') {
      this.#inTx = true
      this.#pending = 0
    } else if (v === 'commit') {
      this.guard.writes.database += this.#pending
      this.#inTx = false
      this.#pending = 0
    } else if (v === 'rollback') {
      this.#inTx = false
      this.#pending = 0
    } else if (isWriteSql(text)) {
      // MySQL DDL commits implicitly (and commits the open transaction with it)
      if (!this.#inTx) this.guard.writes.database++
      else if (ddlCommits && /^\s*(create|alter|drop|truncate|rename)\b/i.test(text)) {
        this.guard.writes.database += this.#pending + 1
        this.#pending = 0
      } else this.#pending++
    }
  }
  /** the connection is gone: uncommitted work is lost */
  lost(): void {
    this.#inTx = false
    this.#pending = 0
  }
}

// ------------------------------------------------------------------------------------------- error classification

type ErrLike = { code?: string; errno?: number; message?: string; cause?: unknown; difyOpsSql?: string }

function* chain(e: unknown): Generator<ErrLike> {
  const seen = new Set<unknown>()
  let cur: unknown = e
  while (cur && typeof cur === 'object' && !seen.has(cur)) {
    seen.add(cur)
    yield cur as ErrLike
    cur = (cur as ErrLike).cause
  }
}

/** PG 55P03 lock_not_available; MySQL/MariaDB 1205 ER_LOCK_WAIT_TIMEOUT */
export const isLockWait = (e: ErrLike) => e.code === '55P03' || e.errno === 1205 || e.code === 'ER_LOCK_WAIT_TIMEOUT'
/** PG 57014 query_canceled (statement timeout or cancel); MariaDB 1969 max_statement_time; MySQL 3024 max_execution_time; 1317 interrupted (KILL QUERY) */
export const isCancelled = (e: ErrLike) =>
  e.code === '57014' || e.errno === 1317 || e.errno === 1969 || e.errno === 3024
const isServerTimeout = (e: ErrLike) =>
  e.errno === 1969 || e.errno === 3024 || (e.code === '57014' && /statement timeout/i.test(e.message ?? ''))

/** The connection to a service broke (server stopped, killed, network). */
export function isConnectionLoss(e: ErrLike): boolean {
  const m = e.message ?? ''
  return (
    [
      'ECONNRESET',
      'ECONNREFUSED',
      'EPIPE',
      'ETIMEDOUT',
      'PROTOCOL_CONNECTION_LOST',
      'ER_SERVER_SHUTDOWN',
      '57P01',
      '57P02',
      '57P03',
      '08000',
      '08003',
      '08006',
      'DIFY_OPS_DEADLINE',
    ].includes(e.code ?? '') ||
    e.errno === 1053 ||
    e.errno === 2006 ||
    e.errno === 2013 ||
    /Connection terminated|connection error and is not queryable|not queryable|Connection is closed|Can't add new command when connection is in closed state|closed state|Query read timeout|Command timed out|Stream isn't writeable/i.test(
      m,
    )
  )
}

/**
 * Map an error that ended a command to what the operator is told, using the runtime's fault state. Returns
 * undefined when it is not a fault (the caller renders the error as it is). Only generic failures (exit 1) and
 * driver errors are reclassified; a domain error with its own exit code is kept.
 */
export function classifyFault(
  err: unknown,
  guard: Guard | undefined,
  limits: Limits | undefined,
): DifyOpsError | undefined {
  if (!guard) return undefined
  const top = err as DifyOpsError
  const isOurs = err instanceof DifyOpsError
  if (isOurs && top.exitCode !== ExitCode.failed && !(top instanceof ConnectError)) {
    if (guard.interrupted && top.exitCode !== ExitCode.interrupted && !(top instanceof PartialError))
      return interruptedError(guard)
    return undefined
  }
  const links = [...chain(err)]
  const partial = guard.wrote()
  // a domain error (exit 1) caused by a fault keeps its own words (they name the revision, the tenant…) and hint;
  // only the exit code changes, and what had been written is added
  const wrap = (
    kind: typeof BusyError | typeof ConnectError,
    message: string,
    hint: string,
    details: Record<string, unknown>,
  ) => {
    const text = `${isOurs ? top.message.replace(/\.?$/, '.') : message} ${guard.writtenText()}.`
    const opts = {
      hint: isOurs && top.hint ? top.hint : hint,
      details: { ...details, ...(isOurs ? top.details : {}), writes: { ...guard.writes } },
      cause: err,
    }
    return partial ? new PartialError(text, opts) : new kind(text, opts)
  }
  if (guard.interrupted && (links.some(isCancelled) || links.some(isConnectionLoss) || !isOurs))
    return interruptedError(guard)
  const lock = links.find(isLockWait)
  if (lock) {
    const table = sqlTable(lock.difyOpsSql) ?? guard.lockWait?.table ?? null
    const waited = limits?.lockTimeoutMs ? ` for more than ${fmtS(limits.lockTimeoutMs)} (--lock-timeout)` : ''
    return wrap(
      BusyError,
      `Another session holds a lock on ${table ? `table ${table}` : 'a row or table'}; gave up waiting${waited}, and that statement changed nothing.`,
      'Find the holder (PostgreSQL: pg_stat_activity / pg_locks; MySQL: SHOW PROCESSLIST), let it finish, then run again; or raise --lock-timeout.',
      { lockedTable: table, sqlState: lock.errno ?? lock.code },
    )
  }
  const timeout = links.find(isServerTimeout)
  if (timeout) {
    const table = sqlTable(timeout.difyOpsSql)
    return wrap(
      ConnectError,
      `A statement${table ? ` on table ${table}` : ''} ran longer than the statement timeout${limits?.statementTimeoutMs ? ` (${fmtS(limits.statementTimeoutMs)}, --statement-timeout)` : ''} and was cancelled by the database server.`,
      'Run again when the database is less busy, or raise --statement-timeout (0 = no limit).',
      { statementTimeout: true, table },
    )
  }
  const loss = links.find((l) => l instanceof DeadlineError || isConnectionLoss(l))
  if (loss || guard.fault) {
    const f = guard.fault ?? faultOf(loss!, 'database')
    const what =
      f.service === 'database' ? 'the metadata database' : f.service === 'Redis' ? 'Redis' : 'the Celery broker'
    return wrap(
      ConnectError,
      f.kind === 'deadline' ? `${capital(f.reason)}.` : `Lost the connection to ${what}: ${f.reason}.`,
      partial
        ? `Check ${what}; when it is back, check the state (or run the command again: it finishes what is left).`
        : `Check ${what} and run the command again; nothing was changed.`,
      { service: f.service, fault: f.kind, reason: f.reason },
    )
  }
  return undefined
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

export function faultOf(e: ErrLike, service: Service): Fault {
  if (e instanceof DeadlineError) return { service: e.service, kind: 'deadline', reason: e.message }
  return { service, kind: 'lost', reason: `the connection was closed (${(e.message ?? String(e)).split('\n')[0]})` }
}

export function interruptedError(guard: Guard): InterruptedError {
  return new InterruptedError(
    guard.wrote()
      ? `Interrupted (Ctrl-C). The statement in progress was cancelled and rolled back; ${guard.writtenText().replace(/^Before that, /, 'before that, ')}.`
      : 'Interrupted (Ctrl-C). The statement in progress was cancelled and rolled back; nothing was written.',
    { hint: 'Run the command again to do the work.', details: { writes: { ...guard.writes } } },
  )
}
