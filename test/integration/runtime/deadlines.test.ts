/**
 * The limits every connection of a Runtime runs with (src/runtime/faults.ts, db-guard.ts, redis.ts): session
 * timeouts, a deadline per round trip that does not cut blocking reads, and write bookkeeping. The frozen-server
 * cases use a PostgreSQL and a Redis of this file's own (test/support/private-services.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tmpdir } from 'node:os'
import { sql } from 'kysely'
import { loadConfig } from '../../../src/config/schema.js'
import { Runtime } from '../../../src/runtime/index.js'
import { DeadlineError } from '../../../src/runtime/faults.js'
import { privatePg, privateRedis, type PrivatePg, type PrivateRedis } from '../../support/private-services.js'

let pgS: PrivatePg
let rds: PrivateRedis
const rt = (env: Record<string, string>, limits?: ConstructorParameters<typeof Runtime>[1]) =>
  new Runtime(loadConfig({ env: { ...pgS.env, ...rds.env, ...env }, noDotenv: true, cwd: tmpdir() }), limits)

beforeAll(async () => {
  ;[pgS, rds] = await Promise.all([privatePg(), privateRedis()])
}, 120_000)
afterAll(async () => {
  await rds?.destroy()
  await pgS?.destroy()
})

describe('runtime limits', () => {
  it('PostgreSQL sessions: lock_timeout 5 s and statement_timeout 60 s by default; DB_EXTRAS options win unless a flag is given', async () => {
    const show = async (r: Runtime) => {
      const db = await r.db()
      const v = await sql<{
        l: string
        s: string
      }>`select current_setting('lock_timeout') as l, current_setting('statement_timeout') as s`.execute(db.kysely)
      await r.close()
      return v.rows[0]
    }
    expect(await show(rt({}))).toEqual({ l: '5s', s: '1min' })
    expect(await show(rt({ DB_EXTRAS: 'options=-c statement_timeout=12345' }))).toEqual({ l: '5s', s: '12345ms' })
    expect(
      await show(
        rt(
          { DB_EXTRAS: 'options=-c statement_timeout=12345' },
          { statementTimeoutMs: 30_000, explicit: { statement: true } },
        ),
      ),
    ).toEqual({ l: '5s', s: '30s' })
    expect(await show(rt({}, { lockTimeoutMs: 0, statementTimeoutMs: 0 }))).toEqual({ l: '0', s: '0' })
  })

  it('a PostgreSQL backend that stops answering: the query fails after statement timeout + DIFY_OPS_COMMAND_TIMEOUT', async () => {
    const r = rt({ DIFY_OPS_COMMAND_TIMEOUT: '1' }, { statementTimeoutMs: 1000 })
    const db = await r.db()
    const admin = await pgS.client()
    const pids = (await admin.query("select pid from pg_stat_activity where application_name = 'dify-ops'")).rows.map(
      (x) => Number(x.pid),
    )
    expect(pids.length).toBeGreaterThan(0)
    for (const p of pids) process.kill(p, 'SIGSTOP')
    try {
      const t0 = Date.now()
      await expect(sql`select 1`.execute(db.kysely)).rejects.toBeInstanceOf(DeadlineError)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1900)
      expect(Date.now() - t0).toBeLessThan(4000)
      expect(r.guard.fault).toMatchObject({ service: 'database', kind: 'deadline' })
    } finally {
      for (const p of pids) process.kill(p, 'SIGCONT')
      await admin.end()
      await r.close()
    }
  })

  it('Redis: a blocking read waits its own time (not cut by the command deadline); a frozen server fails once, then at once', async () => {
    const r = rt({ DIFY_OPS_COMMAND_TIMEOUT: '1' })
    const c = (await r.redis()).client
    const t0 = Date.now()
    expect(await c.brpop('faults:nothing', 2)).toBeNull()
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900)
    rds.freeze()
    try {
      const t1 = Date.now()
      await expect(c.get('x')).rejects.toThrow(/Redis did not answer within 1 s \(DIFY_OPS_COMMAND_TIMEOUT\)/)
      expect(Date.now() - t1).toBeLessThan(2500)
      const t2 = Date.now()
      await expect(c.get('y')).rejects.toThrow()
      expect(Date.now() - t2).toBeLessThan(200)
      expect(r.guard.fault).toMatchObject({ service: 'Redis', kind: 'deadline' })
    } finally {
      rds.thaw()
      await r.close()
    }
  })

  it('writes are counted (Redis write commands, committed database writes), lock bookkeeping is not', async () => {
    const r = rt({})
    const c = (await r.redis()).client
    await c.set('faults:lock', '1', 'PX', 1000, 'NX')
    await c.get('faults:k')
    expect(r.guard.writes.redis).toBe(0)
    await c.set('faults:k', '1')
    await c.del('faults:k')
    expect(r.guard.writes.redis).toBe(2)
    const db = await r.db()
    await sql`create table if not exists faults_t (a int)`.execute(db.kysely)
    await db.kysely.transaction().execute(async (tx) => {
      await sql`insert into faults_t values (1)`.execute(tx)
      await sql`insert into faults_t values (2)`.execute(tx)
    })
    await db.kysely
      .transaction()
      .execute(async (tx) => {
        await sql`insert into faults_t values (3)`.execute(tx)
        await sql`rollback`.execute(tx).catch(() => {})
      })
      .catch(() => {})
    expect(r.guard.writes.database).toBe(3)
    await r.close()
  })
})
