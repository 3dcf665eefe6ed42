/**
 * The same lock faults on MariaDB (the shared server, a scratch database of this file's own): every session runs
 * with innodb_lock_wait_timeout/lock_wait_timeout and max_statement_time; a row lock held by another session ends
 * as exit 6 naming the table (errno 1205); Ctrl-C during the wait sends KILL QUERY from a second session, so the
 * UPDATE never commits after the lock is released.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import mysql from 'mysql2/promise'
import { sql } from 'kysely'
import { scratchMysql, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { createDifySchema, openScratchDb } from '../../support/dify-schema.js'
import { seedAccount, seedDb, type SeedDb, type SeededAccount } from '../../support/dify-accounts.js'
import { BIN, runCli, type CliResult } from '../../support/cli.js'
import { MYSQL } from '../../support/services.js'
import { loadConfig } from '../../../src/config/schema.js'
import { Runtime } from '../../../src/runtime/index.js'

let s: Scratch
let r: ScratchRedis
let seed: SeedDb
let a: SeededAccount
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms))
const env = () => ({ ...s.env, ...r.env })

async function stored(): Promise<string> {
  const rows = await seed.query('select password, password_salt from accounts where id = ?', [a.id])
  return `${rows[0]!.password}/${rows[0]!.password_salt}`
}

async function holdRow(): Promise<mysql.Connection> {
  const h = await mysql.createConnection({ ...MYSQL, database: s.name })
  await h.query('begin')
  await h.query('select id from accounts where id = ? for update', [a.id])
  return h
}

beforeAll(async () => {
  s = await scratchMysql('faultsmy')
  r = await scratchRedis('faultsmy')
  const db = await openScratchDb(s.env)
  await createDifySchema(db)
  await db.close()
  seed = await seedDb('mysql', s.name)
  a = await seedAccount(seed, { email: 'mylock@example.com' })
}, 120_000)

afterAll(async () => {
  await seed?.close()
  await s?.drop()
  await r?.drop()
})

describe('MariaDB: lock wait and interrupt', () => {
  it('every session gets the lock and statement timeouts (MariaDB: max_statement_time in seconds)', async () => {
    const rt = new Runtime(loadConfig({ env: env(), noDotenv: true, cwd: tmpdir() }), {
      lockTimeoutMs: 7000,
      statementTimeoutMs: 45_000,
    })
    const db = await rt.db()
    const v = await sql<{
      l: number
      w: number
      m: number
    }>`select @@innodb_lock_wait_timeout as l, @@lock_wait_timeout as w, @@max_statement_time as m`.execute(db.kysely)
    expect(v.rows[0]).toMatchObject({ l: 7, w: 7 })
    expect(Number(v.rows[0]!.m)).toBe(45)
    await rt.close()
  })

  it('a row lock held: exit 6 naming the table (errno 1205), nothing committed', async () => {
    const before = await stored()
    const h = await holdRow()
    const t0 = Date.now()
    const res = await runCli(
      ['reset-password', '--email', a.email, '--password-stdin', '--lock-timeout', '1', '--json'],
      { env: env(), input: 'Another-pass-123\n' },
    )
    const ms = Date.now() - t0
    await h.query('rollback')
    await h.end()
    expect(res.code, res.stdout + res.stderr).toBe(6)
    expect(res.json.error.message).toContain('table accounts')
    expect(res.json.error.details.sqlState).toBe(1205)
    expect(ms).toBeLessThan(10_000)
    expect(await stored()).toBe(before)
  })

  it('SIGINT during the lock wait: KILL QUERY, exit 130, nothing committed after the lock is released', async () => {
    const before = await stored()
    const h = await holdRow()
    const child = spawn(
      process.execPath,
      [BIN, 'reset-password', '--email', a.email, '--password-stdin', '--lock-timeout', '60'],
      {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env() },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    )
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.stdin.end('Another-pass-123\n')
    const done = new Promise<CliResult>((res) =>
      child.on('close', (code) => res({ code: code ?? 1, stdout: '', stderr })),
    )
    // wait until the UPDATE waits for the row lock
    const probe = await mysql.createConnection({ ...MYSQL })
    let waiting = false
    for (let i = 0; i < 150 && !waiting; i++) {
      const [rows] = await probe.query(
        "select count(*) as n from information_schema.processlist where db = ? and info like 'update%accounts%'",
        [s.name],
      )
      waiting = Number((rows as Array<{ n: number }>)[0]!.n) > 0
      if (!waiting) await sleep(100)
    }
    expect(waiting).toBe(true)
    const t0 = Date.now()
    child.kill('SIGINT')
    const res = await done
    expect(res.code, res.stderr).toBe(130)
    expect(Date.now() - t0).toBeLessThan(3_000)
    expect(res.stderr).toMatch(/Interrupted .*nothing was written/)
    await sleep(200)
    const [left] = await probe.query(
      "select count(*) as n from information_schema.processlist where db = ? and info like 'update%accounts%'",
      [s.name],
    )
    expect(Number((left as Array<{ n: number }>)[0]!.n)).toBe(0)
    await probe.end()
    await h.query('commit')
    await h.end()
    await sleep(300)
    expect(await stored()).toBe(before)
  })
})
