/**
 * The account commands against a real database with Dify's tables and a real Redis, run by the built CLI.
 * Shared by the PostgreSQL and MariaDB test files (each brings its own scratch database at a Dify revision).
 */
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, type CliResult } from '../../support/cli.js'
import { scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PYTHON } from '../../support/services.js'
import {
  PY_COMPARE,
  redisSnapshot,
  seedAccount,
  seedDb,
  seedSession,
  seedTenant,
  type SeedDb,
} from '../../support/dify-accounts.js'

export interface SuiteSetup {
  kind: 'postgres' | 'mysql'
  /** a scratch database holding Dify's schema at revision 788d3099ae3a (1.12.0) */
  create: () => Promise<Scratch>
}

const NEW_PW = 'Correct-horse-battery-9'

export function pyAccepts(pw: string, row: Record<string, unknown>): boolean {
  return (
    execFileSync(PYTHON, ['-c', PY_COMPARE, pw, String(row.password), String(row.password_salt)])
      .toString()
      .trim() === 'ok'
  )
}

export function accountSuite(setup: SuiteSetup): void {
  describe(`account commands on ${setup.kind} (Dify 1.12 schema)`, () => {
    let scratch: Scratch
    let redis: ScratchRedis
    let db: SeedDb
    let env: Record<string, string>
    const P = () => redis.prefix
    const cli = (args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> =>
      runCli(args, { env: { ...env, ...o.env }, input: o.input })
    const row = async (id: string) => (await db.query('select * from accounts where id = ?', [id]))[0]!
    const tableSnapshot = async () => JSON.stringify(await db.query('select * from accounts order by id'))

    beforeAll(async () => {
      scratch = await setup.create()
      redis = await scratchRedis('acct')
      db = await seedDb(setup.kind, scratch.name)
      env = { ...scratch.env, ...redis.env, DIFY_OPS_CONNECT_TIMEOUT: '2' }
    })
    afterAll(async () => {
      await db?.close()
      await redis?.drop()
      await scratch?.drop()
    })

    it("resets the password (stdin), clears every case variant of the lock-out and revokes only this account's sessions", async () => {
      const a = await seedAccount(db, { email: 'reset1@example.com' })
      const b = await seedAccount(db, { email: 'other1@example.com' })
      const ta = [await seedSession(redis.client, P(), a.id), await seedSession(redis.client, P(), a.id)]
      const tb = await seedSession(redis.client, P(), b.id)
      await redis.client.set(`${P()}login_error_rate_limit:reset1@example.com`, '6', 'EX', 86400)
      await redis.client.set(`${P()}login_error_rate_limit:Reset1@Example.com`, '2', 'EX', 86400)
      await redis.client.set(`${P()}login_error_rate_limit:other1@example.com`, '3', 'EX', 86400)
      const before = await row(a.id)
      const r = await cli(['reset-password', '--email', 'reset1@example.com', '--password-stdin', '--json'], {
        input: NEW_PW + '\n',
      })
      expect(r.code, r.stderr + r.stdout).toBe(0)
      expect(r.json).toMatchObject({
        dryRun: false,
        account: { id: a.id, email: a.email },
        matchedBy: 'exact',
        passwordChanged: true,
      })
      expect(r.json.lockout.cleared).toHaveLength(2)
      expect(r.json.sessions).toEqual({ revoke: true, refreshTokens: 2, accountKey: true, oauthTokens: null })
      const after = await row(a.id)
      expect(pyAccepts(NEW_PW, after)).toBe(true)
      expect(pyAccepts(NEW_PW + '\n', after)).toBe(false)
      expect(pyAccepts('Initial-pass1', after)).toBe(false)
      expect(String(after.password)).toHaveLength(88)
      expect(String(after.password_salt)).toHaveLength(24)
      expect(new Date(after.updated_at as Date).getTime()).toBeGreaterThan(
        new Date(before.updated_at as Date).getTime(),
      )
      // updated_at is naive UTC: within a minute of now when read as UTC
      expect(Math.abs(Date.parse(r.json.updatedAt) - Date.now())).toBeLessThan(60_000)
      for (const t of ta) expect(await redis.client.exists(`${P()}refresh_token:${t}`)).toBe(0)
      expect(await redis.client.exists(`${P()}account_refresh_token:${a.id}`)).toBe(0)
      expect(await redis.client.get(`${P()}refresh_token:${tb}`)).toBe(b.id)
      expect(await redis.client.get(`${P()}account_refresh_token:${b.id}`)).toBe(tb)
      expect(
        await redis.client.exists(
          `${P()}login_error_rate_limit:reset1@example.com`,
          `${P()}login_error_rate_limit:Reset1@Example.com`,
        ),
      ).toBe(0)
      expect(await redis.client.get(`${P()}login_error_rate_limit:other1@example.com`)).toBe('3')
      expect(pyAccepts('Initial-pass1', await row(b.id))).toBe(true)
    })

    it('--keep-sessions keeps them; DIFY_NEW_PASSWORD works', async () => {
      const a = await seedAccount(db, { email: 'keep@example.com' })
      const t = await seedSession(redis.client, P(), a.id)
      const r = await cli(['reset-password', '--email', a.email, '--keep-sessions'], {
        env: { DIFY_NEW_PASSWORD: NEW_PW },
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/kept \(--keep-sessions\)/)
      expect(r.stdout).toMatch(/ACCESS_TOKEN_EXPIRE_MINUTES=60/)
      expect(await redis.client.get(`${P()}refresh_token:${t}`)).toBe(a.id)
      expect(pyAccepts(NEW_PW, await row(a.id))).toBe(true)
    })

    it('refuses a mismatch and a weak password (exit 2), changing nothing', async () => {
      const a = await seedAccount(db, { email: 'weak@example.com' })
      const snap = await tableSnapshot()
      const m = await cli([
        'reset-password',
        '--email',
        a.email,
        '--new-password',
        NEW_PW,
        '--password-confirm',
        NEW_PW + 'x',
      ])
      expect(m.code).toBe(2)
      expect(m.stderr).toMatch(/differ/)
      expect(m.stderr).toMatch(/visible to other users/)
      const w = await cli(['reset-password', '--email', a.email, '--password-stdin', '--json'], { input: 'short1' })
      expect(w.code).toBe(2)
      expect(w.json.error).toMatchObject({ code: 'USAGE', exitCode: 2 })
      expect(w.json.error.hint).toMatch(/at least 8 characters.*letter.*digit/)
      const d = await cli(['reset-password', '--email', a.email, '--password-stdin'], { input: 'onlyletters' })
      expect(d.code).toBe(2)
      expect(d.stderr).toMatch(/no digit/)
      expect(await tableSnapshot()).toBe(snap)
    })

    it('unknown email is exit 3', async () => {
      const r = await cli(['reset-password', '--email', 'nobody@example.com', '--password-stdin', '--json'], {
        input: NEW_PW,
      })
      expect(r.code).toBe(3)
      expect(r.json.error.code).toBe('NOT_FOUND')
    })

    it('a case variant that login would not find is listed with exit 3', async () => {
      const a = await seedAccount(db, { email: 'Mixed.Case@Example.com' })
      const r = await cli(['reset-password', '--email', 'mixed.case@example.com', '--password-stdin', '--json'], {
        input: NEW_PW,
      })
      if (setup.kind === 'mysql') {
        // MySQL compares with the column's case-insensitive collation, exactly as Dify's own query does there
        expect(r.code).toBe(0)
        expect(r.json.account.id).toBe(a.id)
        return
      }
      expect(r.code).toBe(3)
      expect(r.json.error.details.candidates).toEqual([
        { id: a.id, email: 'Mixed.Case@Example.com', name: 'Mixed.Case', status: 'active' },
      ])
      expect(r.json.error.message).toContain('Mixed.Case@Example.com')
      expect(pyAccepts('Initial-pass1', await row(a.id))).toBe(true)
    })

    it('1.11.3+ finds a lower-case stored email from a mixed-case input (exact, then lower-cased)', async () => {
      const a = await seedAccount(db, { email: 'lowered@example.com' })
      const r = await cli(['reset-password', '--email', 'Lowered@Example.com', '--password-stdin', '--json'], {
        input: NEW_PW,
      })
      expect(r.code, r.stdout).toBe(0)
      expect(r.json.account.id).toBe(a.id)
      if (setup.kind === 'postgres') expect(r.json.matchedBy).toBe('lowercase')
    })

    it('duplicate exact emails need --account-id', async () => {
      const a1 = await seedAccount(db, { email: 'dup@example.com' })
      const a2 = await seedAccount(db, { email: 'dup@example.com' })
      const r = await cli(['reset-password', '--email', 'dup@example.com', '--password-stdin', '--json'], {
        input: NEW_PW,
      })
      expect(r.code).toBe(2)
      expect(r.json.error.details.candidates.map((c: { id: string }) => c.id).sort()).toEqual([a1.id, a2.id].sort())
      expect(r.json.error.hint).toMatch(/--account-id/)
      const ok = await cli(
        ['reset-password', '--email', 'dup@example.com', '--account-id', a2.id, '--password-stdin'],
        { input: NEW_PW },
      )
      expect(ok.code, ok.stderr).toBe(0)
      expect(pyAccepts(NEW_PW, await row(a2.id))).toBe(true)
      expect(pyAccepts('Initial-pass1', await row(a1.id))).toBe(true)
    })

    it('without a terminal and without a password source: exit 2 naming the options', async () => {
      const a = await seedAccount(db, { email: 'notty@example.com' })
      const r = await cli(['reset-password', '--email', a.email])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/--password-stdin/)
      expect(r.stderr).toMatch(/DIFY_NEW_PASSWORD/)
      expect(r.stderr).toMatch(/--generate/)
      const noEmail = await cli(['reset-password', '--password-stdin'], { input: NEW_PW })
      expect(noEmail.code).toBe(2)
      expect(noEmail.stderr).toMatch(/--email/)
    })

    it('--generate sets a password Dify accepts and shows it once', async () => {
      const a = await seedAccount(db, { email: 'gen@example.com' })
      const r = await cli(['reset-password', '--email', a.email, '--generate', '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.generatedPassword).toMatch(/^[A-Za-z0-9]{20}$/)
      expect(pyAccepts(r.json.generatedPassword, await row(a.id))).toBe(true)
      const h = await cli(['reset-password', '--email', a.email, '--generate'])
      const shown = h.stdout.match(/shown once\): (\S+)/)![1]!
      expect(h.stdout.split(shown).length).toBe(2)
      expect(pyAccepts(shown, await row(a.id))).toBe(true)
    })

    it('with Redis down the password is still reset, the report says what was not cleared, exit 7', async () => {
      const a = await seedAccount(db, { email: 'redisdown@example.com' })
      const r = await cli(['reset-password', '--email', a.email, '--password-stdin', '--json'], {
        input: NEW_PW,
        env: { REDIS_PORT: '1' },
      })
      expect(r.code).toBe(7)
      expect(r.json.error).toMatchObject({ code: 'PARTIAL', exitCode: 7 })
      expect(r.json.error.details.report.redis).toMatchObject({ ok: false })
      expect(r.json.error.details.report.redis.notDone).toEqual([
        'clear the login lock-out counter',
        'revoke the sessions (refresh tokens)',
      ])
      expect(pyAccepts(NEW_PW, await row(a.id))).toBe(true)
      const h = await cli(['reset-password', '--email', a.email, '--password-stdin'], {
        input: NEW_PW + 'x',
        env: { REDIS_PORT: '1' },
      })
      expect(h.code).toBe(7)
      expect(h.stdout).toMatch(/Password\s+changed/)
      expect(h.stdout).toMatch(/not revoked \(Redis unavailable\)/)
      expect(h.stderr).toMatch(/Redis was unavailable/)
    })

    it('--dry-run writes nothing (database and Redis compared before/after) but reports the plan', async () => {
      const a = await seedAccount(db, { email: 'dry@example.com' })
      await seedSession(redis.client, P(), a.id)
      await redis.client.set(`${P()}login_error_rate_limit:dry@example.com`, '6', 'EX', 86400)
      await redis.client.zadd(`${P()}email_code_login_rate_limit:dry@example.com`, 1, '1')
      const dbBefore = await tableSnapshot()
      const rBefore = await redisSnapshot(redis.client, P())
      const cmds: Array<[string[], string?]> = [
        [['reset-password', '--email', a.email, '--password-stdin', '--dry-run', '--json'], NEW_PW],
        [['reset-email', '--email', a.email, '--new-email', 'dry2@example.com', '--dry-run', '--json']],
        [['account', 'ban', a.email, '--dry-run', '--json']],
        [['account', 'unlock', a.email, '--dry-run', '--json']],
      ]
      const out: CliResult[] = []
      for (const [args, input] of cmds) {
        const r = await cli(args, { input })
        expect(r.code, r.stderr + r.stdout).toBe(0)
        expect(r.json.dryRun).toBe(true)
        out.push(r)
      }
      expect(out[0]!.json.sessions).toMatchObject({ refreshTokens: 1, accountKey: true })
      expect(out[0]!.json.lockout.cleared).toEqual([{ email: 'dry@example.com', count: 6 }])
      expect(out[1]!.json.lockoutMoved).toMatchObject({ to: 'dry2@example.com', count: 6 })
      expect(out[2]!.json).toMatchObject({ status: 'banned', changed: true, sessions: { refreshTokens: 1 } })
      expect(out[3]!.json.cleared.map((c: { kind: string }) => c.kind).sort()).toEqual([
        'email_code_login_rate_limit',
        'login_error_rate_limit',
      ])
      expect(await tableSnapshot()).toBe(dbBefore)
      expect(await redisSnapshot(redis.client, P())).toEqual(rBefore)
    })

    it('reset-email validates, refuses an address in use (any case), updates and moves the lock-out', async () => {
      const a = await seedAccount(db, { email: 'move@example.com' })
      await seedAccount(db, { email: 'Taken@Example.com' })
      await redis.client.set(`${P()}login_error_rate_limit:move@example.com`, '4', 'EX', 5000)
      const bad = await cli(['reset-email', '--email', a.email, '--new-email', 'not-an-email'])
      expect(bad.code).toBe(2)
      const mism = await cli([
        'reset-email',
        '--email',
        a.email,
        '--new-email',
        'x@example.com',
        '--email-confirm',
        'y@example.com',
      ])
      expect(mism.code).toBe(2)
      const taken = await cli(['reset-email', '--email', a.email, '--new-email', 'taken@example.com', '--json'])
      expect(taken.code).toBe(2)
      expect(taken.json.error.message).toMatch(/Taken@Example.com/)
      const ok = await cli([
        'reset-email',
        '--email',
        a.email,
        '--new-email',
        ' Moved@Example.com ',
        '--email-confirm',
        'Moved@Example.com',
        '--json',
      ])
      expect(ok.code, ok.stderr + ok.stdout).toBe(0)
      expect(ok.json).toMatchObject({ oldEmail: 'move@example.com', newEmail: 'moved@example.com', changed: true }) // 1.12 stores it lower-cased
      expect((await row(a.id)).email).toBe('moved@example.com')
      expect(await redis.client.get(`${P()}login_error_rate_limit:moved@example.com`)).toBe('4')
      expect(await redis.client.ttl(`${P()}login_error_rate_limit:moved@example.com`)).toBeGreaterThan(4000)
      expect(await redis.client.exists(`${P()}login_error_rate_limit:move@example.com`)).toBe(0)
    })

    it('account show / list', async () => {
      const a = await seedAccount(db, {
        email: 'show@example.com',
        name: 'Show Me',
        lastLoginAt: new Date('2026-01-02T03:04:05Z'),
        lastLoginIp: '10.0.0.7',
      })
      const n = await seedAccount(db, { email: 'sso_100%_user@example.com', password: null, status: 'pending' })
      const t = await seedTenant(db, 'Show WS', [
        { accountId: a.id, role: 'owner', current: true },
        { accountId: n.id, role: 'editor' },
      ])
      await seedSession(redis.client, P(), a.id)
      await seedSession(redis.client, P(), a.id)
      await redis.client.set(`${P()}login_error_rate_limit:SHOW@example.com`, '7', 'EX', 600)
      const s = await cli(['account', 'show', a.email, '--json'])
      expect(s.code, s.stderr).toBe(0)
      expect(s.json.account).toMatchObject({
        id: a.id,
        name: 'Show Me',
        status: 'active',
        hasPassword: true,
        lastLoginAt: '2026-01-02T03:04:05.000Z',
        lastLoginIp: '10.0.0.7',
      })
      expect(s.json.tenants).toEqual([
        expect.objectContaining({ tenantId: t, tenantName: 'Show WS', role: 'owner', current: true }),
      ])
      expect(s.json.sessions).toEqual({ refreshTokens: 2, accountKey: true })
      expect(s.json.lockouts).toEqual([
        expect.objectContaining({ kind: 'login_error_rate_limit', email: 'SHOW@example.com', count: 7, locked: true }),
      ])
      expect(s.json.lockouts[0].ttlSeconds).toBeGreaterThan(500)
      const byId = await cli(['account', 'show', n.id])
      expect(byId.code).toBe(0)
      expect(byId.stdout).toMatch(/Password\s+not set/)
      expect(byId.stdout).not.toMatch(/ +$/m) // no line ends in padding (the "Workspaces" heading did)
      const l = await cli(['account', 'list', '--search', '100%_', '--json'])
      expect(l.json.accounts.map((x: { id: string }) => x.id)).toEqual([n.id])
      const lt = await cli(['account', 'list', '--tenant', t, '--json'])
      expect(lt.json.total).toBe(2)
      expect(lt.json.accounts.map((x: { role: string }) => x.role).sort()).toEqual(['editor', 'owner'])
      const ls = await cli(['account', 'list', '--status', 'pending', '--limit', '1'])
      expect(ls.code).toBe(0)
      expect(ls.stdout).toMatch(/sso_100%_user@example.com/)
      const miss = await cli(['account', 'show', 'missing@example.com'])
      expect(miss.code).toBe(3)
    })

    it('account unlock clears every lock-out and rate limiter of every case variant, nothing else', async () => {
      const kinds = [
        'login_error_rate_limit',
        'forgot_password_error_rate_limit',
        'email_register_error_rate_limit',
        'change_email_error_rate_limit',
        'owner_transfer_error_rate_limit',
      ]
      for (const k of kinds) await redis.client.set(`${P()}${k}:Locked@Example.com`, '6', 'EX', 900)
      await redis.client.set(`${P()}login_error_rate_limit:locked@example.com`, '2')
      await redis.client.zadd(`${P()}reset_password_rate_limit:locked@example.com`, 1, '1')
      await redis.client.set(`${P()}login_error_rate_limit:locked@example.co`, '6')
      await redis.client.set(`${P()}login_error_rate_limit:xlocked@example.com`, '6')
      const a = await seedAccount(db, { email: 'locked@example.com' })
      const r = await cli(['account', 'unlock', 'LOCKED@example.com', '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.cleared).toHaveLength(7)
      expect(r.json.wasLocked).toHaveLength(5)
      expect(await redis.client.get(`${P()}login_error_rate_limit:locked@example.co`)).toBe('6')
      expect(await redis.client.get(`${P()}login_error_rate_limit:xlocked@example.com`)).toBe('6')
      expect(pyAccepts('Initial-pass1', await row(a.id))).toBe(true)
      const again = await cli(['account', 'unlock', 'locked@example.com'])
      expect(again.stdout).toMatch(/No lock-out/)
    })

    it('account ban revokes sessions and sets banned; unban restores active', async () => {
      const a = await seedAccount(db, { email: 'ban@example.com' })
      const b = await seedAccount(db, { email: 'bystander@example.com' })
      const ta = await seedSession(redis.client, P(), a.id)
      const tb = await seedSession(redis.client, P(), b.id)
      const r = await cli(['account', 'ban', a.email, '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.json).toMatchObject({
        previousStatus: 'active',
        status: 'banned',
        changed: true,
        sessions: { refreshTokens: 1, accountKey: true },
      })
      expect((await row(a.id)).status).toBe('banned')
      expect(await redis.client.exists(`${P()}refresh_token:${ta}`)).toBe(0)
      expect(await redis.client.get(`${P()}refresh_token:${tb}`)).toBe(b.id)
      const again = await cli(['account', 'ban', a.email])
      expect(again.code).toBe(0)
      expect(again.stdout).toMatch(/already banned/)
      const u = await cli(['account', 'unban', a.email, '--json'])
      expect(u.json).toMatchObject({ status: 'active', changed: true })
      expect((await row(a.id)).status).toBe('active')
      const u2 = await cli(['account', 'unban', b.email])
      expect(u2.stdout).toMatch(/not banned/)
    })

    it('refuses writes outside the supported Dify releases unless --force-version (exit 4)', async () => {
      const a = await seedAccount(db, { email: 'version@example.com' })
      const rev = String((await db.query('select version_num from alembic_version'))[0]!.version_num)
      await db.query("update alembic_version set version_num = 'a91b476a53de'") // Dify 0.15.x, before the window
      try {
        const r = await cli(['reset-password', '--email', a.email, '--password-stdin'], { input: NEW_PW })
        expect(r.code).toBe(4)
        expect(r.stderr).toMatch(/--force-version/)
        const f = await cli(['reset-password', '--email', a.email, '--password-stdin', '--force-version'], {
          input: NEW_PW,
        })
        expect(f.code, f.stderr).toBe(0)
        expect(f.stderr).toMatch(/outside the supported/)
        const s = await cli(['account', 'show', a.email])
        expect(s.code).toBe(0)
      } finally {
        await db.query('update alembic_version set version_num = ?', [rev])
      }
    })

    it('no command prints the password, its hash or its salt, in human or --json mode', async () => {
      const KNOWN = 'Known-Secret-Pw-42'
      const a = await seedAccount(db, { email: 'secret@example.com', password: KNOWN })
      const stored = await row(a.id)
      await seedSession(redis.client, P(), a.id)
      const runs: Array<[string[], { input?: string; env?: Record<string, string> }?]> = [
        [['reset-password', '--email', a.email, '--password-stdin'], { input: KNOWN }],
        [['reset-password', '--email', a.email, '--password-stdin', '--dry-run'], { input: KNOWN }],
        [['reset-password', '--email', a.email], { env: { DIFY_NEW_PASSWORD: KNOWN } }],
        [['reset-password', '--email', a.email, '--new-password', KNOWN, '--password-confirm', KNOWN]],
        [['reset-password', '--email', a.email, '--new-password', KNOWN, '--password-confirm', KNOWN + 'x']],
        [['reset-password', '--email', a.email, '--password-stdin'], { input: KNOWN, env: { REDIS_PORT: '1' } }],
        [['reset-password', '--email', 'nobody@example.com', '--password-stdin'], { input: KNOWN }],
        [['reset-email', '--email', a.email, '--new-email', 'secret2@example.com']],
        [['reset-email', '--email', 'secret2@example.com', '--new-email', a.email]],
        [['account', 'show', a.email]],
        [['account', 'list', '--search', 'secret']],
        [['account', 'unlock', a.email]],
        [['account', 'ban', a.email]],
        [['account', 'unban', a.email]],
      ]
      for (const [args, o] of runs) {
        for (const mode of [[], ['--json']]) {
          const r = await cli([...args, ...mode], o)
          const all = r.stdout + r.stderr
          expect(all, args.join(' ')).not.toContain(KNOWN)
          expect(all).not.toContain(String(stored.password))
          expect(all).not.toContain(String(stored.password_salt))
          const now = await row(a.id)
          expect(all).not.toContain(String(now.password))
        }
      }
    }, 180_000)
  })
}
