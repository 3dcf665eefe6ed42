/**
 * Faults around a write, on a PostgreSQL and a Redis of this file's own (test/support/private-services.ts), so they
 * can be locked, frozen and crashed: a row lock held by another session, Ctrl-C during the lock wait, a Redis that
 * stalls after the password changed, PostgreSQL stopped with -m immediate mid-command, REDIS_DB out of range.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type pg from 'pg'
import { privatePg, privateRedis, type PrivatePg, type PrivateRedis } from '../../support/private-services.js'
import { createDifySchema, openScratchDb } from '../../support/dify-schema.js'
import { seedAccount, type SeedDb, type SeededAccount } from '../../support/dify-accounts.js'
import { runCli, startCli, waitForLockWait, type CliResult } from '../../support/cli.js'

let pgS: PrivatePg
let rds: PrivateRedis
let seed: SeedDb
let admin: pg.Client
let auditFile: string
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** The CLI as a child we can signal, stdin given (empty unless `input`). */
const start = (args: string[], e: Record<string, string>, input = '') => startCli(args, e, input)

const env = (extra: Record<string, string> = {}) => ({
  ...pgS.env,
  ...rds.env,
  DIFY_OPS_AUDIT_LOG: auditFile,
  DIFY_OPS_COMMAND_TIMEOUT: '2',
  ...extra,
})

function pgSeed(c: pg.Client): SeedDb {
  return {
    async query(text, params = []) {
      let i = 0
      return (
        await c.query(
          text.replace(/\?/g, () => `$${++i}`),
          params,
        )
      ).rows
    },
    close: () => c.end(),
  }
}

async function stored(id: string): Promise<string> {
  const c = await pgS.client()
  const r = await c.query('select password, password_salt from accounts where id = $1', [id])
  await c.end()
  return `${r.rows[0].password}/${r.rows[0].password_salt}`
}

function audits(): Array<{ command: string; exitCode: number; outcome: string }> {
  if (!existsSync(auditFile)) return []
  return readFileSync(auditFile, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
}

async function holdRow(id: string): Promise<pg.Client> {
  const h = await pgS.client()
  await h.query('begin')
  await h.query('select id from accounts where id = $1 for update', [id])
  return h
}

const noStack = (r: CliResult) => expect(r.stderr + r.stdout).not.toMatch(/\n\s+at .+:\d+:\d+/)

beforeAll(async () => {
  ;[pgS, rds] = await Promise.all([privatePg(), privateRedis()])
  const db = await openScratchDb(pgS.env)
  await createDifySchema(db)
  await db.close()
  admin = await pgS.client()
  seed = pgSeed(await pgS.client())
  auditFile = join(mkdtempSync(join(tmpdir(), 'dops-faults-')), 'audit.log')
}, 120_000)

afterAll(async () => {
  await seed?.close().catch(() => {})
  await admin?.end().catch(() => {})
  await rds?.destroy()
  await pgS?.destroy()
  if (auditFile) rmSync(dirname(auditFile), { recursive: true, force: true })
})

describe('reset-password under faults (private PostgreSQL and Redis)', () => {
  let a: SeededAccount
  beforeAll(async () => {
    a = await seedAccount(seed, { email: 'locked@example.com' })
  })

  it('a row lock held by another session: exit 6 after --lock-timeout naming the table, nothing committed, audit line', async () => {
    const before = await stored(a.id)
    const h = await holdRow(a.id)
    const t0 = Date.now()
    const r = await runCli(
      ['reset-password', '--email', a.email, '--password-stdin', '--lock-timeout', '1', '--json'],
      { env: env(), input: 'Another-pass-123\n' },
    )
    const ms = Date.now() - t0
    await h.query('rollback')
    await h.end()
    expect(r.code, r.stdout + r.stderr).toBe(6)
    expect(r.json.error.message).toContain('table accounts')
    expect(r.json.error.details.lockedTable).toBe('accounts')
    expect(ms).toBeLessThan(8_000)
    await sleep(300)
    expect(await stored(a.id)).toBe(before)
    expect(audits().at(-1)).toMatchObject({ command: 'reset-password', exitCode: 6, outcome: 'failed' })
  })

  it('the default lock timeout (5 s) applies without the flag', async () => {
    const h = await holdRow(a.id)
    const t0 = Date.now()
    const r = await runCli(['reset-password', '--email', a.email, '--password-stdin', '--json'], {
      env: env(),
      input: 'Another-pass-123\n',
    })
    const ms = Date.now() - t0
    await h.query('rollback')
    await h.end()
    expect(r.code).toBe(6)
    expect(ms).toBeGreaterThanOrEqual(5_000)
    expect(ms).toBeLessThan(12_000)
  })

  for (const generate of [false, true]) {
    it(`SIGINT during the lock wait${generate ? ' (--generate)' : ''}: 130 with a message, cancelled on the server, nothing committed after the lock is released, audit line`, async () => {
      const before = await stored(a.id)
      const h = await holdRow(a.id)
      const run = start(
        [
          'reset-password',
          '--email',
          a.email,
          ...(generate ? ['--generate'] : ['--password-stdin']),
          '--lock-timeout',
          '60',
        ],
        env(),
        'Another-pass-123\n',
      )
      await waitForLockWait(admin, 150)
      const t0 = Date.now()
      run.child.kill('SIGINT')
      const r = await run.done
      expect(r.code, r.stderr).toBe(130)
      expect(r.at - t0).toBeLessThan(3_000)
      expect(r.stderr).toMatch(/Interrupted .*cancelled and rolled back; nothing was written/)
      noStack(r)
      if (generate) expect(r.stdout).not.toContain('Generated password')
      // the server no longer runs the UPDATE: releasing the lock commits nothing
      await sleep(200)
      const waiting = await admin.query(
        "select count(*)::int as n from pg_stat_activity where application_name = 'dify-ops' and state <> 'idle'",
      )
      expect(waiting.rows[0].n).toBe(0)
      await h.query('commit')
      await h.end()
      await sleep(500)
      expect(await stored(a.id)).toBe(before)
      expect(audits().at(-1)).toMatchObject({ command: 'reset-password', exitCode: 130, outcome: 'failed' })
    })
  }

  it('--generate: the password is shown before the commit (human output), once', async () => {
    const h = await holdRow(a.id)
    const run = start(['reset-password', '--email', a.email, '--generate', '--lock-timeout', '60'], env())
    await waitForLockWait(admin, 150)
    await h.query('commit')
    await h.end()
    const r = await run.done
    expect(r.code, r.stderr).toBe(0)
    const shown = r.stdout.match(/Generated password \(shown once\): (\S+)/g) ?? []
    expect(shown.length).toBe(1)
    expect(r.stdout.indexOf('Generated password')).toBeLessThan(r.stdout.search(/^Password /m))
  })

  it('Redis frozen (SIGSTOP) after the password changed: exit 7 with the report within DIFY_OPS_COMMAND_TIMEOUT, audit line in the file', async () => {
    const before = await stored(a.id)
    const h = await holdRow(a.id)
    const run = start(
      ['reset-password', '--email', a.email, '--password-stdin', '--lock-timeout', '60', '--json'],
      env(),
      'Frozen-redis-123\n',
    )
    await waitForLockWait(admin, 150)
    rds.freeze()
    try {
      const t0 = Date.now()
      await h.query('commit') // the UPDATE goes through; Redis is now silent
      await h.end()
      const r = await run.done
      expect(r.code, r.stdout + r.stderr).toBe(7)
      expect(r.at - t0).toBeLessThan(2_000 + 2_500) // one command deadline (2 s), then every later command fails at once
      expect(r.json.error.details.report.passwordChanged).toBe(true)
      expect(r.json.error.details.report.redis.ok).toBe(false)
      expect(r.json.error.details.report.redis.error).toMatch(/did not answer within 2 s/)
      expect(r.json.error.details.report.redis.notDone).toContain('clear the login lock-out counter')
      noStack(r)
    } finally {
      rds.thaw()
    }
    expect(await stored(a.id)).not.toBe(before)
    expect(audits().at(-1)).toMatchObject({ command: 'reset-password', exitCode: 7, outcome: 'partial' })
  })

  it("REDIS_DB beyond the server's databases: exit 4 naming REDIS_DB, DB 0 untouched", async () => {
    const r0 = await rds.client(0)
    await r0.set('login_error_rate_limit:locked@example.com', '3')
    const r = await runCli(['account', 'unlock', 'locked@example.com', '--json'], { env: env({ REDIS_DB: '99' }) })
    expect(r.code, r.stdout + r.stderr).toBe(4)
    expect(r.json.error.message).toContain('REDIS_DB=99')
    expect(r.json.error.details.variable).toBe('REDIS_DB')
    expect(await r0.get('login_error_rate_limit:locked@example.com')).toBe('3')
    expect(await r0.exists('dify_ops:audit')).toBeGreaterThanOrEqual(0)
    const b = await runCli(['queue', 'list', '--no-workers', '--json'], {
      env: env({ CELERY_BROKER_URL: `redis://127.0.0.1:${rds.port}/99` }),
    })
    expect(b.code, b.stdout + b.stderr).toBe(4)
    expect(b.json.error.message).toContain('CELERY_BROKER_URL')
  })

  it('PostgreSQL stopped with -m immediate during the UPDATE: exit 5, no stack trace, audit line (file and Redis)', async () => {
    const h = await holdRow(a.id)
    const run = start(
      ['reset-password', '--email', a.email, '--password-stdin', '--lock-timeout', '60'],
      env(),
      'Crashed-pg-1234\n',
    )
    await waitForLockWait(admin, 150)
    const r0 = await rds.client(0)
    const streamBefore = await r0.xlen('dify_ops:audit')
    pgS.stop('immediate')
    const r = await run.done
    await h.end().catch(() => {})
    expect(r.code, r.stderr).toBe(5)
    expect(r.stderr).toMatch(/^Error: .*metadata database/m)
    expect(r.stderr).toContain('Nothing had been written')
    noStack(r)
    expect(audits().at(-1)).toMatchObject({ command: 'reset-password', exitCode: 5, outcome: 'failed' })
    expect(await r0.xlen('dify_ops:audit')).toBe(streamBefore + 1)
    pgS.start()
    await admin.end().catch(() => {})
    admin = await pgS.client()
    await seed.close().catch(() => {})
    seed = pgSeed(await pgS.client())
  }, 60_000)
})
