import { describe, expect, it } from 'vitest'
import {
  classifyFault,
  DeadlineError,
  Guard,
  isWriteSql,
  sqlTable,
  txVerb,
  WriteTracker,
  type Limits,
} from '../../../src/runtime/faults.js'
import { mysqlSessionSql, optionMs, pgEffective, pgSessionSql } from '../../../src/runtime/db-guard.js'
import { ConfigError, DifyOpsError, ExitCode } from '../../../src/core/errors.js'

const limits: Limits = { lockTimeoutMs: 5000, statementTimeoutMs: 60_000, commandTimeoutMs: 10_000 }
const pgErr = (code: string, message: string) => Object.assign(new Error(message), { code })

describe('SQL classification', () => {
  it('names the table of the statement', () => {
    expect(sqlTable('update "accounts" set "password" = $1 where "id" = $2')).toBe('accounts')
    expect(sqlTable('insert into `tenants` (id) values (?)')).toBe('tenants')
    expect(sqlTable('delete from public.providers where id = $1')).toBe('public.providers')
    expect(sqlTable('select "encrypt_public_key" from "tenants" where "id" = $1 for update')).toBe('tenants')
    expect(sqlTable('ALTER TABLE message_annotations ALTER COLUMN question SET NOT NULL')).toBe('message_annotations')
    expect(sqlTable('select 1')).toBeNull()
  })
  it('tells writes and transaction verbs', () => {
    for (const w of [
      'update x set a=1',
      'INSERT INTO x values (1)',
      'delete from x',
      'create index i on x (a)',
      'alter table x add c int',
      'with t as (select 1) update x set a = 1',
      'do $x$ begin delete from x; commit; end $x$',
    ])
      expect(isWriteSql(w), w).toBe(true)
    for (const r of [
      'select * from x for update',
      'select pg_try_advisory_lock(1)',
      'set lock_timeout = 5000',
      'begin',
      'with t as (select 1) select * from t',
    ])
      expect(isWriteSql(r), r).toBe(false)
    expect(txVerb('begin')).toBe('begin')
    expect(txVerb('start transaction isolation level serializable')).toBe('begin')
    expect(txVerb('COMMIT')).toBe('commit')
    expect(txVerb('rollback')).toBe('rollback')
    expect(txVerb('rollback to savepoint a')).toBeNull()
  })
  it('counts a write once its transaction commits, never when it rolls back or the connection dies', () => {
    const g = new Guard()
    const t = new WriteTracker(g)
    t.done('begin', false)
    t.done('update a set x = 1', false)
    t.done('rollback', false)
    expect(g.writes.database).toBe(0)
    t.done('begin', false)
    t.done('update a set x = 1', false)
    t.lost()
    t.done('update b set x = 1', false) // autocommit after the loss
    expect(g.writes.database).toBe(1)
    t.done('begin', false)
    t.done('insert into c values (1)', false)
    t.done('insert into c values (2)', false)
    t.done('commit', false)
    expect(g.writes.database).toBe(3)
    t.done('begin', true)
    t.done('insert into c values (3)', true)
    t.done('alter table c add d int', true) // MySQL: DDL commits the open transaction
    expect(g.writes.database).toBe(5)
  })
})

describe('session settings', () => {
  it('PostgreSQL: the flags win, then DB_EXTRAS options, then the defaults', () => {
    expect(pgSessionSql(limits, '-c timezone=UTC')).toBe('set lock_timeout = 5000; set statement_timeout = 60000')
    expect(pgSessionSql(limits, '-c timezone=UTC -c statement_timeout=12345')).toBe('set lock_timeout = 5000')
    expect(pgSessionSql({ ...limits, explicit: { statement: true } }, '-c statement_timeout=12345')).toBe(
      'set lock_timeout = 5000; set statement_timeout = 60000',
    )
    expect(optionMs('-c lock_timeout=2s', 'lock_timeout')).toBe(2000)
    expect(optionMs('-c statement_timeout=1min -c x=y', 'statement_timeout')).toBe(60_000)
    expect(pgEffective(limits, '-c statement_timeout=0').statementMs).toBe(0)
  })
  it('MySQL and MariaDB: lock waits in whole seconds; MariaDB max_statement_time (s), MySQL max_execution_time (ms)', () => {
    expect(mysqlSessionSql(limits, true)).toBe(
      'SET SESSION innodb_lock_wait_timeout = 5, lock_wait_timeout = 5, max_statement_time = 60',
    )
    expect(mysqlSessionSql({ ...limits, lockTimeoutMs: 1500 }, false)).toBe(
      'SET SESSION innodb_lock_wait_timeout = 2, lock_wait_timeout = 2, max_execution_time = 60000',
    )
    expect(mysqlSessionSql({ ...limits, lockTimeoutMs: 0, statementTimeoutMs: 0 }, true)).toBe(
      'SET SESSION innodb_lock_wait_timeout = 31536000, lock_wait_timeout = 31536000, max_statement_time = 0',
    )
  })
})

describe('classifyFault', () => {
  it('a lock wait is exit 6 naming the table; 7 when something was committed before', () => {
    const g = new Guard()
    const e = Object.assign(pgErr('55P03', 'canceling statement due to lock timeout'), {
      difyOpsSql: 'update "accounts" set x = 1',
    })
    const c = classifyFault(e, g, limits)!
    expect(c.exitCode).toBe(ExitCode.busy)
    expect(c.message).toContain('table accounts')
    expect(c.message).toContain('5 s (--lock-timeout)')
    g.writes.database = 2
    expect(classifyFault(e, g, limits)!.exitCode).toBe(ExitCode.partial)
    const my = Object.assign(new Error('Lock wait timeout exceeded'), {
      errno: 1205,
      code: 'ER_LOCK_WAIT_TIMEOUT',
      difyOpsSql: 'update `tenants` set a = 1',
    })
    expect(classifyFault(my, new Guard(), limits)!.message).toContain('table tenants')
  })
  it('a lost connection is exit 5, or 7 after a write; a domain error keeps its words', () => {
    const g = new Guard()
    const lost = new Error('Connection terminated unexpectedly')
    expect(classifyFault(lost, g, limits)!.exitCode).toBe(ExitCode.connect)
    g.writes.redis = 1
    const wrapped = new DifyOpsError('Revision abc failed at `alter table x`: Connection terminated unexpectedly.', {
      cause: lost,
      hint: 'rolled back',
      details: { revision: 'abc' },
    })
    const c = classifyFault(wrapped, g, limits)!
    expect(c.exitCode).toBe(ExitCode.partial)
    expect(c.message).toMatch(/^Revision abc failed .* Before that, 1 Redis write\(s\) had been made\.$/)
    expect(c.hint).toBe('rolled back')
    expect(c.details).toMatchObject({ revision: 'abc', service: 'database' })
  })
  it('a deadline names the service and DIFY_OPS_COMMAND_TIMEOUT', () => {
    const g = new Guard()
    g.noteFault({ service: 'Redis', kind: 'deadline', reason: new DeadlineError('Redis', 2000).message })
    const c = classifyFault(new DeadlineError('Redis', 2000), g, limits)!
    expect(c.exitCode).toBe(ExitCode.connect)
    expect(c.message).toBe('Redis did not answer within 2 s (DIFY_OPS_COMMAND_TIMEOUT). Nothing had been written.')
  })
  it('a statement timeout cancelled by the server is reported as such', () => {
    const c = classifyFault(
      Object.assign(pgErr('57014', 'canceling statement due to statement timeout'), {
        difyOpsSql: 'select * from "documents"',
      }),
      new Guard(),
      limits,
    )!
    expect(c.message).toContain('statement timeout (60 s, --statement-timeout)')
  })
  it('after an interrupt, a cancelled statement is exit 130 saying nothing was written', () => {
    const g = new Guard()
    g.interrupted = true
    const c = classifyFault(pgErr('57014', 'canceling statement due to user request'), g, limits)!
    expect(c.exitCode).toBe(ExitCode.interrupted)
    expect(c.message).toContain('nothing was written')
  })
  it('other errors are left alone', () => {
    expect(classifyFault(new Error('boom'), new Guard(), limits)).toBeUndefined()
    expect(classifyFault(new ConfigError('bad'), new Guard(), limits)).toBeUndefined()
  })
})
