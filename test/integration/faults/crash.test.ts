/**
 * PostgreSQL stopped with `pg_ctl stop -m immediate` (a crash: every backend killed) while a command waits in a
 * statement, on a private cluster (test/support/private-services.ts). Before the fix, a client checked out of the
 * pool died with "Unhandled 'error' event … Connection terminated unexpectedly", a stack trace, exit 1 and no audit
 * line. Now: exit 5 (nothing written) or 7 (something committed), one sentence, and the audit line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type pg from 'pg'
import { privatePg, privateRedis, type PrivatePg, type PrivateRedis } from '../../support/private-services.js'
import { createDifySchema, openScratchDb } from '../../support/dify-schema.js'
import { pgSink, seedTenants } from '../../support/encryption-seed.js'
import { BIN, startCli, waitForLockWait, type CliResult } from '../../support/cli.js'
import { REVISION_LIST } from '../../../src/migrations/registry.js'
import { buildChain } from '../../../src/migrations/graph.js'

let pgS: PrivatePg
let rds: PrivateRedis
let admin: pg.Client
const work = mkdtempSync(join(tmpdir(), 'dops-crash-'))
const auditFile = join(work, 'audit.log')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const env = (extra: Record<string, string> = {}) => ({
  ...pgS.env,
  ...rds.env,
  DIFY_OPS_AUDIT_LOG: auditFile,
  ...extra,
})

function audits(): Array<{ command: string; exitCode: number; outcome: string }> {
  if (!existsSync(auditFile)) return []
  return readFileSync(auditFile, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
}

/** Crash the server under the waiting command, collect the result, start the server again. */
async function crashDuring(run: Promise<CliResult>, holder: pg.Client): Promise<CliResult> {
  await waitForLockWait(admin, 300)
  pgS.stop('immediate')
  const r = await run
  await holder.end().catch(() => {})
  await admin.end().catch(() => {})
  pgS.start()
  admin = await pgS.client()
  return r
}

const noStack = (r: CliResult) => {
  expect(r.stderr + r.stdout).not.toMatch(/\n\s+at .+:\d+:\d+/)
  expect(r.stderr).not.toMatch(/Unhandled 'error' event|Unexpected error/)
}

beforeAll(async () => {
  ;[pgS, rds] = await Promise.all([privatePg({ database: 'postgres_dify' }), privateRedis()])
  admin = await pgS.client()
}, 120_000)

afterAll(async () => {
  await admin?.end().catch(() => {})
  await rds?.destroy()
  await pgS?.destroy()
  rmSync(work, { recursive: true, force: true })
})

describe('PostgreSQL stopped with -m immediate mid-command', () => {
  it('upgrade-db: a revision committed, the next one waiting on a table lock → exit 7 naming what was applied, audit line', async () => {
    const ordered = buildChain(REVISION_LIST).ordered
    // a revision that alters an existing table, two after the start point: the first pending one commits, this one waits
    const alters = (r: (typeof ordered)[number]) => {
      const st = r.statements('postgres')
      const created = (t: string) => st.some((x) => new RegExp(`^\\s*create table\\s+"?${t}"?[\\s(]`, 'i').test(x.sql))
      return st.find((x) => x.table && !created(x.table) && /^\s*alter table/i.test(x.sql))
    }
    // createDifySchema builds from the baseline (d57accd375ae) on: start after it
    const base = ordered.findIndex((r) => r.revision === 'd57accd375ae')
    const i = ordered.findIndex(
      (r, k) =>
        k >= base + 3 &&
        alters(r) &&
        !r.statements('postgres').some((s) => s.noTransaction) &&
        !ordered[k - 1]!.statements('postgres').some((s) => s.noTransaction),
    )
    expect(i).toBeGreaterThan(0)
    const from = ordered[i - 2]!.revision
    const table = alters(ordered[i]!)!.table!
    const db = await openScratchDb(pgS.env)
    await createDifySchema(db, from)
    await db.close()
    const holder = await pgS.client()
    await holder.query('begin')
    await holder.query(`lock table "${table}" in access share mode`)
    const r = await crashDuring(
      // --statement-timeout: one transaction per revision (consecutive plain revisions otherwise share one, as in
      // Dify's Alembic env, and a crash inside the group leaves nothing applied — runner.test.ts covers that path)
      startCli(
        ['upgrade-db', '--to', ordered[i]!.revision, '--lock-timeout', '60', '--statement-timeout', '600', '--json'],
        env(),
      ).done,
      holder,
    )
    expect(r.code, r.stdout + r.stderr).toBe(7)
    expect(r.json.error.code).toBe('PARTIAL')
    expect(r.json.error.message).toContain(ordered[i]!.revision)
    expect(r.json.error.details.applied).toEqual([ordered[i - 1]!.revision])
    noStack(r)
    expect(audits().at(-1)).toMatchObject({ command: 'db:upgrade', exitCode: 7, outcome: 'partial' })
    const v = await admin.query('select version_num from alembic_version')
    expect(v.rows.map((x) => x.version_num)).toEqual([ordered[i - 1]!.revision])
  }, 120_000)

  it('encryption rotate waiting on a locked tenant row → exit 5/7 with its report, no stack trace, audit line', async () => {
    // bring the database to the head the encryption commands know
    const up = await startCli(['upgrade-db', '--json'], env()).done
    expect(up.code, up.stdout + up.stderr).toBe(0)
    const storage = join(work, 'storage')
    mkdirSync(storage, { recursive: true })
    const tenants = await seedTenants(
      pgSink(admin),
      async (p, pem) => {
        mkdirSync(dirname(join(storage, p)), { recursive: true })
        writeFileSync(join(storage, p), pem)
      },
      { count: 2 },
    )
    const second = [...tenants].sort((a, b) => (a.id < b.id ? -1 : 1))[1]!
    const holder = await pgS.client()
    await holder.query('begin')
    await holder.query('select id from tenants where id = $1 for update', [second.id])
    const e = env({ STORAGE_TYPE: 'opendal', OPENDAL_SCHEME: 'fs', OPENDAL_FS_ROOT: storage, EDITION: 'SELF_HOSTED' })
    const r = await crashDuring(
      startCli(['encryption', 'rotate', '--yes', '--lock-timeout', '60', '--json'], e).done,
      holder,
    )
    // rotate reports per tenant (failed tenants, private.pem.previous already written to storage): exit 7
    expect([5, 7], r.stdout + r.stderr).toContain(r.code)
    if (r.json?.outcomes) expect(r.json.outcomes.some((o: { status: string }) => o.status === 'failed')).toBe(true)
    noStack(r)
    expect(audits().at(-1)).toMatchObject({ command: 'encryption:rotate', exitCode: r.code })
  }, 120_000)

  // rotate stops gracefully (after the tenants in progress): a Ctrl-C during a lock wait ends within --lock-timeout
  it('encryption rotate interrupted (SIGINT) while waiting on a locked tenant row → 130 within the lock timeout, the key unchanged, audit line', async () => {
    const e = env({
      STORAGE_TYPE: 'opendal',
      OPENDAL_SCHEME: 'fs',
      OPENDAL_FS_ROOT: join(work, 'storage'),
      EDITION: 'SELF_HOSTED',
    })
    // the test before may leave a tenant whose rotation committed but whose clean-up the crash cut off; a rerun
    // finishes such a tenant without taking its row lock, so the lock below would never be waited on: finish it first
    const settle = await startCli(['encryption', 'rotate', '--yes', '--json'], e).done
    expect(settle.code, settle.stdout + settle.stderr).toBe(0)
    const t = (await admin.query('select id, encrypt_public_key from tenants order by created_at, id')).rows
    const holder = await pgS.client()
    await holder.query('begin')
    await holder.query('select id from tenants where id = $1 for update', [t[0].id])
    const child = spawn(process.execPath, [BIN, 'encryption', 'rotate', '--yes', '--lock-timeout', '3'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...e },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const done = new Promise<number>((res) => child.on('close', (code) => res(code ?? 1)))
    await waitForLockWait(admin, 300).catch((e) => {
      throw new Error(`${e.message}: ${out} ${stderr}`)
    })
    const t0 = Date.now()
    child.kill('SIGINT')
    const code = await Promise.race([done, sleep(15_000).then(() => -1)])
    expect(code, out + stderr).toBe(130)
    expect(Date.now() - t0).toBeLessThan(3_000 + 3_000)
    expect(stderr).toMatch(/Interrupted/)
    expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/)
    await holder.query('commit')
    await holder.end()
    await sleep(300)
    const after = (await admin.query('select encrypt_public_key from tenants where id = $1', [t[0].id])).rows[0]
      .encrypt_public_key
    expect(after).toBe(t[0].encrypt_public_key)
    expect(audits().at(-1)).toMatchObject({ command: 'encryption:rotate', exitCode: 130 })
  }, 60_000)

  it('reset-password --generate while the row is locked: exit 5, no password shown, none set, audit line', async () => {
    const acc = '11111111-2222-4333-8444-555555555555'
    await admin.query(
      `insert into accounts (id, name, email, password, password_salt, interface_language, interface_theme, timezone, status, initialized_at, created_at, updated_at)
       values ($1, 'x', 'crash@example.com', null, null, 'en-US', 'light', 'UTC', 'active', now(), now(), now())`,
      [acc],
    )
    const holder = await pgS.client()
    await holder.query('begin')
    await holder.query('select id from accounts where id = $1 for update', [acc])
    const r = await crashDuring(
      startCli(['reset-password', '--email', 'crash@example.com', '--generate', '--lock-timeout', '60'], env()).done,
      holder,
    )
    expect(r.code, r.stderr).toBe(5)
    expect(r.stdout).not.toContain('Generated password')
    noStack(r)
    expect(audits().at(-1)).toMatchObject({ command: 'reset-password', exitCode: 5, outcome: 'failed' })
    const row = await admin.query('select password from accounts where id = $1', [acc])
    expect(row.rows[0].password).toBeNull()
  }, 60_000)
})
