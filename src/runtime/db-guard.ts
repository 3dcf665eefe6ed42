/**
 * What every metadata-database session of a command runs with (src/runtime/faults.ts has the policy):
 * - the lock and statement timeouts, set once per session (PostgreSQL lock_timeout/statement_timeout; MySQL and
 *   MariaDB innodb_lock_wait_timeout + lock_wait_timeout, MariaDB max_statement_time, MySQL max_execution_time);
 * - a client-side deadline per round trip (statement timeout + DIFY_OPS_COMMAND_TIMEOUT): a server that stops
 *   answering ends the session instead of hanging the command;
 * - an 'error' listener on every client, so a connection lost while a client is checked out is reported, not an
 *   unhandled 'error' event that crashes Node;
 * - the writes committed so far (exit 5 or 7), and the cancellation of in-flight statements on SIGINT (PostgreSQL
 *   CancelRequest, as psql sends on Ctrl-C; MySQL KILL QUERY from a second session). After an interrupt, new
 *   statements are refused except ROLLBACK.
 */
import { connect as netConnect } from 'node:net'
import {
  DeadlineError,
  faultOf,
  isConnectionLoss,
  isLockWait,
  sqlTable,
  txVerb,
  WriteTracker,
  type Guard,
  type Limits,
} from './faults.js'

export const INTERRUPTED_CODE = 'DIFY_OPS_INTERRUPTED'
const interruptedErr = () =>
  Object.assign(new Error('interrupted: no new statement is sent after Ctrl-C'), { code: INTERRUPTED_CODE })

/** A `-c name=value` in DB_EXTRAS options, in milliseconds (PostgreSQL's units: ms default, s, min, h). */
export function optionMs(pgOptions: string | undefined, name: string): number | undefined {
  const m = new RegExp(`(?:^|\\s)-c\\s*${name}=(\\d+(?:\\.\\d+)?)\\s*(ms|s|min|h)?(?=\\s|$)`).exec(pgOptions ?? '')
  if (!m) return undefined
  const mult = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms']
  return Number(m[1]) * mult
}

/** The effective PostgreSQL timeouts: a flag wins, then DB_EXTRAS options, then the command's default. */
export function pgEffective(
  limits: Limits,
  pgOptions: string | undefined,
): { lockMs: number; statementMs: number; setLock: boolean; setStatement: boolean } {
  const extraLock = optionMs(pgOptions, 'lock_timeout')
  const extraStmt = optionMs(pgOptions, 'statement_timeout')
  const setLock = Boolean(limits.explicit?.lock) || extraLock === undefined
  const setStatement = Boolean(limits.explicit?.statement) || extraStmt === undefined
  return {
    lockMs: setLock ? limits.lockTimeoutMs : extraLock!,
    statementMs: setStatement ? limits.statementTimeoutMs : extraStmt!,
    setLock,
    setStatement,
  }
}

export function pgSessionSql(limits: Limits, pgOptions: string | undefined): string {
  const e = pgEffective(limits, pgOptions)
  const out: string[] = []
  if (e.setLock) out.push(`set lock_timeout = ${Math.max(0, Math.floor(e.lockMs))}`)
  if (e.setStatement) out.push(`set statement_timeout = ${Math.max(0, Math.floor(e.statementMs))}`)
  return out.join('; ')
}

/** MySQL/MariaDB: one SET for a new session. */
export function mysqlSessionSql(limits: Limits, mariadb: boolean): string {
  const lockS = limits.lockTimeoutMs > 0 ? Math.max(1, Math.ceil(limits.lockTimeoutMs / 1000)) : 31_536_000
  const parts = [`innodb_lock_wait_timeout = ${lockS}`, `lock_wait_timeout = ${lockS}`]
  // MariaDB: max_statement_time in seconds, any statement; MySQL 8: max_execution_time in ms, SELECT only
  parts.push(
    mariadb
      ? `max_statement_time = ${limits.statementTimeoutMs / 1000}`
      : `max_execution_time = ${Math.floor(limits.statementTimeoutMs)}`,
  )
  return `SET SESSION ${parts.join(', ')}`
}

function deadlineMs(statementMs: number, limits: Limits): number {
  return statementMs > 0 && limits.commandTimeoutMs > 0 ? statementMs + limits.commandTimeoutMs : 0
}

interface PgClientLike {
  query: (...args: unknown[]) => unknown
  on(ev: 'error' | 'end', fn: (e?: unknown) => void): unknown
  processID: number | null
  secretKey: number | null
  connection: { stream: { destroy(): void } }
}

/** PostgreSQL's CancelRequest (the message psql sends on Ctrl-C): no login needed. */
export function pgCancel(
  host: string,
  port: number,
  processID: number,
  secretKey: number,
  timeoutMs = 3000,
): Promise<void> {
  return new Promise((resolve) => {
    const path = host.startsWith('/') ? `${host}/.s.PGSQL.${port}` : undefined
    const sock = path ? netConnect(path) : netConnect(port, host)
    const done = () => {
      clearTimeout(t)
      sock.destroy()
      resolve()
    }
    const t = setTimeout(done, timeoutMs)
    sock.on('error', done)
    sock.on('connect', () => {
      const b = Buffer.alloc(16)
      b.writeInt32BE(16, 0)
      b.writeInt32BE(80877102, 4)
      b.writeInt32BE(processID, 8)
      b.writeInt32BE(secretKey, 12)
      sock.end(b)
    })
    sock.on('close', done)
  })
}

export function instrumentPg(
  client: PgClientLike,
  o: { guard: Guard; limits: Limits; host: string; port: number; pgOptions?: string },
): void {
  const { guard } = o
  const tracker = new WriteTracker(guard)
  const dl = deadlineMs(pgEffective(o.limits, o.pgOptions).statementMs, o.limits)
  let inFlight = 0
  client.on('error', (e) => {
    guard.noteFault(faultOf((e ?? {}) as Error, 'database'))
    tracker.lost()
  })
  const unregister = guard.onInterrupt(async () => {
    if (inFlight > 0 && client.processID != null && client.secretKey != null)
      await pgCancel(o.host, o.port, client.processID, client.secretKey)
  })
  client.on('end', () => unregister())
  const orig = client.query.bind(client)
  client.query = (config: unknown, values?: unknown, cb?: unknown) => {
    const text = typeof config === 'string' ? config : ((config as { text?: string } | null)?.text ?? '')
    const streaming = typeof (config as { submit?: unknown } | null)?.submit === 'function'
    if (streaming || typeof values === 'function' || typeof cb === 'function') return orig(config, values, cb)
    if (guard.interrupted && txVerb(text) !== 'rollback') return Promise.reject(interruptedErr())
    inFlight++
    let expired = false
    const timer = dl
      ? setTimeout(() => {
          expired = true
          guard.noteFault({ service: 'database', kind: 'deadline', reason: new DeadlineError('database', dl).message })
          client.connection.stream.destroy()
        }, dl)
      : undefined
    return (orig(config, values) as Promise<unknown>).then(
      (res) => {
        if (timer) clearTimeout(timer)
        inFlight--
        tracker.done(text, false)
        return res
      },
      (err: unknown) => {
        if (timer) clearTimeout(timer)
        inFlight--
        throw annotate(err, text, expired ? new DeadlineError('database', dl) : undefined, guard, tracker)
      },
    )
  }
}

function annotate(
  err: unknown,
  text: string,
  deadline: DeadlineError | undefined,
  guard: Guard,
  tracker: WriteTracker,
): unknown {
  if (deadline) {
    tracker.lost()
    ;(deadline as unknown as { cause: unknown }).cause = err
    Object.assign(deadline, { difyOpsSql: text })
    return deadline
  }
  if (err && typeof err === 'object') {
    const e = err as { difyOpsSql?: string }
    e.difyOpsSql ??= text
    if (isLockWait(e)) guard.lockWait ??= { table: sqlTable(text) }
    if (isConnectionLoss(e)) {
      guard.noteFault(faultOf(e, 'database'))
      tracker.lost()
    }
  }
  return err
}

interface MysqlConnLike {
  query: (...args: unknown[]) => unknown
  on(ev: 'error' | 'end', fn: (e?: unknown) => void): unknown
  threadId: number | null
  destroy(): void
}

type MysqlModule = {
  createConnection(o: Record<string, unknown>): {
    query(sql: string, cb: (e: unknown) => void): void
    end(): void
    destroy(): void
    on(ev: 'error', fn: () => void): void
  }
}

export function instrumentMysql(
  conn: MysqlConnLike,
  o: { guard: Guard; limits: Limits; connOpts: Record<string, unknown>; mysql: MysqlModule },
): void {
  if ((conn as { __difyOps?: boolean }).__difyOps) return
  ;(conn as { __difyOps?: boolean }).__difyOps = true
  const { guard } = o
  const tracker = new WriteTracker(guard)
  const dl = deadlineMs(o.limits.statementTimeoutMs, o.limits)
  let inFlight = 0
  conn.on('error', (e) => {
    guard.noteFault(faultOf((e ?? {}) as Error, 'database'))
    tracker.lost()
  })
  const unregister = guard.onInterrupt(
    () =>
      new Promise<void>((resolve) => {
        if (inFlight === 0 || conn.threadId == null) return resolve()
        const killer = o.mysql.createConnection(o.connOpts)
        killer.on('error', () => resolve())
        const t = setTimeout(() => {
          killer.destroy()
          resolve()
        }, 3000)
        killer.query(`KILL QUERY ${Number(conn.threadId)}`, () => {
          clearTimeout(t)
          killer.end()
          resolve()
        })
      }),
  )
  conn.on('end', () => unregister())
  const orig = conn.query.bind(conn)
  conn.query = (...args: unknown[]) => {
    const cbIndex = args.findIndex((a) => typeof a === 'function')
    if (cbIndex < 0) return orig(...args) // streaming: untouched
    const first = args[0]
    const text = typeof first === 'string' ? first : ((first as { sql?: string } | null)?.sql ?? '')
    const cb = args[cbIndex] as (err: unknown, ...rest: unknown[]) => void
    if (guard.interrupted && txVerb(text) !== 'rollback') {
      process.nextTick(() => cb(interruptedErr()))
      return undefined
    }
    inFlight++
    let settled = false
    let timer: NodeJS.Timeout | undefined
    const finish = (err: unknown, rest: unknown[]) => {
      if (settled) return
      settled = true
      if (timer) clearTimeout(timer)
      inFlight--
      if (err) cb(annotate(err, text, undefined, guard, tracker), ...rest)
      else {
        tracker.done(text, true)
        cb(null, ...rest)
      }
    }
    if (dl) {
      timer = setTimeout(() => {
        const d = new DeadlineError('database', dl)
        guard.noteFault({ service: 'database', kind: 'deadline', reason: d.message })
        tracker.lost()
        conn.destroy()
        if (!settled) {
          settled = true
          inFlight--
          cb(Object.assign(d, { difyOpsSql: text }))
        }
      }, dl)
    }
    args[cbIndex] = (err: unknown, ...rest: unknown[]) => finish(err, rest)
    return orig(...args)
  }
}
