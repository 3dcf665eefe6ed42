/**
 * MariaDB: a run that stops inside a revision (DDL is not transactional) is resumed by the next run, which finds
 * the statements that took effect in information_schema and runs only the rest (src/migrations/resume.ts).
 * Revision 788d3099ae3a (create table + 4 indexes + 2 add column), stopped after each of its 7 statements:
 * - by an injected failure after statement k (the report must say k applied), then a rerun;
 * - by what a SIGKILL leaves (the first k statements committed, alembic_version not written), then a rerun;
 * each rerun finishes and the schema equals the one a clean run gives (our own revisions, same database).
 * And once for real: the built CLI is SIGKILLed while statement 6 waits for a metadata lock, then run again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { spawn } from 'node:child_process'
import mysql from 'mysql2/promise'
import { BIN, runCli } from '../../support/cli.js'
import { MYSQL } from '../../support/services.js'
import type { Db } from '../../../src/core/db.js'
import { upgradeDb } from '../../../src/migrations/upgrade.js'
import { MigrationFailedError, type RunEvent } from '../../../src/migrations/runner.js'
import { REVISION_LIST } from '../../../src/migrations/registry.js'
import { createDifySchema } from '../../support/dify-schema.js'
import { scratchDb, schemaFingerprint, versionsOf, type ScratchDb } from '../../support/migrations.js'

const REV = '788d3099ae3a'
const DOWN = '9d77545f524e'
const rev = REVISION_LIST.find((r) => r.revision === REV)!
const stmts = rev.statements('mysql')

let s: ScratchDb
let db: Db
let before: string
let after: string
const deps = () => ({ db: async () => db, database: s.name })
const run = (opts: { afterStatement?: (r: string, i: number) => void; onEvent?: (e: RunEvent) => void } = {}) =>
  upgradeDb(deps(), { autoDirs: [], to: REV, ...opts })

/** Back to DOWN, by hand (test only). */
async function undo(): Promise<void> {
  for (const q of [
    'DROP TABLE IF EXISTS document_segment_summaries',
    'ALTER TABLE datasets DROP COLUMN IF EXISTS summary_index_setting',
    'ALTER TABLE documents DROP COLUMN IF EXISTS need_summary',
    `UPDATE alembic_version SET version_num = '${DOWN}'`,
  ])
    await sql.raw(q).execute(db.kysely)
  expect(await schemaFingerprint(db)).toBe(before)
}

beforeAll(async () => {
  expect(stmts.length).toBe(7)
  s = await scratchDb('mysql', 'resume')
  db = await s.open()
  await createDifySchema(db, DOWN)
  before = await schemaFingerprint(db)
  const clean = await run()
  expect(clean.applied.map((a) => a.revision)).toEqual([REV])
  after = await schemaFingerprint(db)
  await undo()
}, 300_000)

afterAll(async () => {
  await db?.close().catch(() => {})
  await s?.drop().catch(() => {})
})

describe('MariaDB: resuming a revision that stopped in the middle', { timeout: 300_000 }, () => {
  for (let k = 1; k <= 7; k++) {
    it(`stopped by a failure after statement ${k} of 7: the report says ${k} applied; the rerun runs the other ${7 - k} and finishes`, async () => {
      const err = await run({
        afterStatement: (r, i) => {
          if (r === REV && i === k - 1) throw Object.assign(new Error('injected crash'), { code: 'TEST' })
        },
      }).catch((e) => e)
      expect(err).toBeInstanceOf(MigrationFailedError)
      expect(err.message).toContain(`${k} of its 7 statement(s) are applied`)
      expect(err.details.appliedInRevision).toHaveLength(k)
      expect(await versionsOf(db)).toEqual([DOWN])
      const events: RunEvent[] = []
      const r = await run({ onEvent: (e) => events.push(e) })
      expect(r.status).toBe('upgraded')
      expect(r.applied).toEqual([expect.objectContaining({ revision: REV, statements: 7, alreadyApplied: k })])
      expect(events).toContainEqual({
        type: 'warn',
        message: expect.stringContaining(
          `its first ${k} of 7 statement(s) are already in the schema; running the remaining ${7 - k}`,
        ),
      })
      expect(await schemaFingerprint(db)).toBe(after)
      await undo()
    })
  }

  for (let k = 1; k <= 7; k++) {
    it(`left as a SIGKILL leaves it after statement ${k}: the rerun finishes`, async () => {
      for (const st of stmts.slice(0, k)) await sql.raw(st.sql).execute(db.kysely)
      const r = await run()
      expect(r.applied).toEqual([expect.objectContaining({ revision: REV, alreadyApplied: k })])
      expect(await schemaFingerprint(db)).toBe(after)
      await undo()
    })
  }

  it('a rerun that fails again counts the statements of both runs', async () => {
    await run({
      afterStatement: (r, i) => {
        if (i === 1) throw new Error('first crash')
      },
    }).catch(() => {})
    const err = await run({
      afterStatement: (r, i) => {
        if (i === 4) throw new Error('second crash')
      },
    }).catch((e) => e)
    expect(err.message).toContain('5 of its 7 statement(s) are applied (2 of them by an earlier run)')
    expect(err.details.appliedByEarlierRun).toBe(2)
    expect(err.hint).toContain('continues after them')
    const r = await run()
    expect(r.applied[0]!.alreadyApplied).toBe(5)
    expect(await schemaFingerprint(db)).toBe(after)
    await undo()
  })

  it('a schema that contradicts the order (a later statement applied, an earlier one not) is refused, exit 4', async () => {
    await sql.raw(stmts[0]!.sql).execute(db.kysely)
    await sql.raw(stmts[5]!.sql).execute(db.kysely)
    const err = await run().catch((e) => e)
    expect(err.exitCode).toBe(4)
    expect(err.message).toContain('cannot be resumed')
    expect(err.message).toContain('statement 6')
    expect(err.message).toContain('statement 2')
    expect(await versionsOf(db)).toEqual([DOWN])
    await undo()
  })

  it('the built CLI, SIGKILLed while statement 6 waits for a table lock, is finished by the next run', async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DB_TYPE: 'mysql',
      DB_HOST: MYSQL.host,
      DB_PORT: String(MYSQL.port),
      DB_USERNAME: MYSQL.user,
      DB_PASSWORD: '',
      DB_DATABASE: s.name,
      // no Redis: the database lock alone (a killed run's Redis lock would hold the rerun for its 60 s TTL)
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: '1',
      DIFY_OPS_CONNECT_TIMEOUT: '2',
    }
    const blocker = await mysql.createConnection({ ...MYSQL, database: s.name })
    await blocker.query('start transaction')
    await blocker.query('select * from datasets limit 1') // a metadata lock on datasets until commit
    const child = spawn(process.execPath, [BIN, 'upgrade-db', '--to', REV, '--lock-timeout', '120'], {
      env,
      stdio: 'ignore',
    })
    try {
      const until = Date.now() + 60_000
      for (;;) {
        const [rows] = await blocker.query(
          "select count(*) as n from information_schema.processlist where info like 'alter table `datasets`%' and state like '%metadata lock%'",
        )
        if (Number((rows as Array<{ n: number }>)[0]!.n) > 0) break
        if (Date.now() > until) throw new Error('the run never reached statement 6')
        await new Promise((r) => setTimeout(r, 200))
      }
      child.kill('SIGKILL')
      await new Promise((r) => child.once('exit', r))
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await blocker.query('commit')
      await blocker.end()
    }
    // the server may still run the orphaned ALTER once the lock is free: either way the rerun must be right
    const r = await runCli(['upgrade-db', '--to', REV, '--json'], { env, timeoutMs: 120_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({ status: 'upgraded', applied: [{ revision: REV, statements: 7 }] })
    expect([5, 6]).toContain(r.json.applied[0].alreadyApplied)
    expect(r.stderr).toMatch(/started by an earlier run that stopped: its first [56] of 7 statement\(s\)/)
    expect(await schemaFingerprint(db)).toBe(after)
    await undo()
  }, 180_000)
})
