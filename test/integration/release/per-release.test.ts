/**
 * Every Dify release's own facts, end to end through the built CLI, on databases created by each release itself
 * (test/support/oracles.ts loadRelease): reset-password, account show and queue list at 1.0.0 … 1.15.0 on
 * PostgreSQL and at 1.10.1 / 1.15.0 on MariaDB. Asserted per release: the worker queue list (retention from
 * 1.11.2, #17 item 4), the lock-out kinds it writes, oauth_access_tokens (1.15.0) revoked by reset-password and
 * ban, and where SECRET_KEY comes from (an empty one with `.dify_secret_key` in an fs storage).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { runCli } from '../../support/cli.js'
import { scratchMysql, scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { loadRelease } from '../../support/oracles.js'
import { REDIS } from '../../support/services.js'
import { seedAccount, seedDb, seedSession, type SeedDb } from '../../support/dify-accounts.js'
import { RELEASE_HEADS } from '../../../src/dify/releases.js'
import { profileFor } from '../../../src/dify/profile.js'

const NEW_PW = 'Correct-horse-battery-9'
const CASES: Array<['postgres' | 'mysql', string]> = [
  ...[
    '1.0.0',
    '1.3.0',
    '1.6.0',
    '1.9.2',
    '1.10.1',
    '1.11.0',
    '1.11.2',
    '1.12.1',
    '1.13.0',
    '1.13.3',
    '1.14.0',
    '1.15.0',
  ].map((v) => ['postgres', v] as ['postgres', string]),
  ['mysql', '1.10.1'],
  ['mysql', '1.15.0'],
]
/** the release whose head a database of `release` is at (1.3.0 is at 1.2.0's head, 1.13.3 at 1.13.1's, …) */
const headOf = (release: string) => {
  const heads = RELEASE_HEADS.filter(([v]) => v.localeCompare(release, undefined, { numeric: true }) <= 0)
  return heads.at(-1)!
}

let redis: ScratchRedis
let broker: Redis
beforeAll(async () => {
  redis = await scratchRedis('release')
  broker = new Redis({ ...REDIS, db: 1 })
})
afterAll(async () => {
  broker?.disconnect()
  await redis?.drop()
})

describe.each(CASES)('Dify release facts on %s at %s', (dialect, release) => {
  let scratch: Scratch
  let db: SeedDb
  let env: Record<string, string>
  const [headRelease, head] = headOf(release)
  const profile = profileFor(head, { dialect })
  const cli = (args: string[], input?: string) => runCli(args, { env, input })
  const P = () => redis.prefix

  beforeAll(async () => {
    scratch = dialect === 'postgres' ? await scratchPg(`rel${release}`) : await scratchMysql(`rel${release}`)
    await loadRelease(scratch, dialect, release)
    db = await seedDb(dialect, scratch.name)
    env = { ...scratch.env, ...redis.env, DIFY_OPS_CONNECT_TIMEOUT: '3' }
  }, 120_000)
  afterAll(async () => {
    await db?.close()
    await scratch?.drop()
  })

  it('account show: the release, its lock-out kinds; reset-password clears the lock-out and revokes sessions', async () => {
    const email = `ops-${release.replace(/\./g, '')}-${dialect}@example.com`
    const a = await seedAccount(db, { email })
    await redis.client.set(`${P()}login_error_rate_limit:${email}`, '6', 'EX', 600)
    await redis.client.set(`${P()}email_register_error_rate_limit:${email}`, '2', 'EX', 600)
    await redis.client.set(`${P()}owner_transfer_error_rate_limit:${email}`, '1', 'EX', 600)
    await seedSession(redis.client, P(), a.id)

    const show = await cli(['account', 'show', email, '--json'])
    expect(show.code, show.stderr + show.stdout).toBe(0)
    expect(show.json.database).toMatchObject({
      revision: head,
      difyVersion: headRelease,
      supported: true,
      status: 'supported',
    })
    const kinds = show.json.lockouts.map((l: { kind: string }) => l.kind).sort()
    const expected = ['login_error_rate_limit', 'email_register_error_rate_limit', 'owner_transfer_error_rate_limit']
      .filter((k) => (profile.lockoutCounters as readonly string[]).includes(k))
      .sort()
    expect(kinds).toEqual(expected)
    expect(show.json.sessions).toEqual({ refreshTokens: 1, accountKey: true })
    expect(show.json.oauthSessions === null).toBe(!profile.oauthAccessTokens)

    const r = await cli(['reset-password', '--email', email, '--password-stdin', '--json'], NEW_PW)
    expect(r.code, r.stderr + r.stdout).toBe(0)
    expect(r.json.database).toMatchObject({ revision: head, supported: true })
    expect(r.json.lockout.cleared).toEqual([{ email, count: 6 }])
    expect(r.json.sessions).toMatchObject({
      revoke: true,
      refreshTokens: 1,
      accountKey: true,
      oauthTokens: profile.oauthAccessTokens ? 0 : null,
    })
    expect(await redis.client.exists(`${P()}login_error_rate_limit:${email}`)).toBe(0)
    const row = (await db.query('select password from accounts where id = ?', [a.id]))[0]!
    expect(row.password).not.toBe(null)
    if (!profile.redisKeyPrefixSupported) expect(r.stderr).toMatch(/REDIS_KEY_PREFIX is set, but Dify/)

    // account unlock clears the kinds this release writes
    await redis.client.set(`${P()}forgot_password_error_rate_limit:${email}`, '3', 'EX', 600)
    const u = await cli(['account', 'unlock', email, '--json'])
    expect(u.code, u.stderr + u.stdout).toBe(0)
    expect(u.json.difyVersion).toBe(headRelease)
    const cleared = u.json.cleared.map((c: { kind: string }) => c.kind).sort()
    expect(cleared).toEqual(
      ['forgot_password_error_rate_limit', ...expected.filter((k) => k !== 'login_error_rate_limit')].sort(),
    )
  })

  it("queue list: the release's worker queues (retention from 1.11.2)", async () => {
    await broker.del(`${P()}retention`)
    await broker.lpush(`${P()}retention`, 'x')
    try {
      const q = await cli(['queue', 'list', '--no-workers', '--json'])
      expect(q.code, q.stderr + q.stdout).toBe(0)
      expect(q.json.queueList).toMatchObject({ source: 'database', version: headRelease })
      const expectedNames = q.json.queues
        .filter((x: { expected: boolean }) => x.expected)
        .map((x: { name: string }) => x.name)
      expect(expectedNames).toEqual([...profile.workerQueues])
      const retention = q.json.queues.find((x: { name: string }) => x.name === 'retention')
      const has = profile.workerQueues.includes('retention')
      expect(has).toBe(release.localeCompare('1.11.2', undefined, { numeric: true }) >= 0)
      expect(retention).toMatchObject({ depth: 1, expected: has, noConsumer: !has })
      // CELERY_WORKER_QUEUES wins over CELERY_QUEUES from 1.10.0 only
      const o = await runCli(['queue', 'list', '--no-workers', '--json'], {
        env: { ...env, CELERY_QUEUES: 'dataset,mail', CELERY_WORKER_QUEUES: 'retention' },
      })
      expect(o.json.queueList.source).toBe(
        profile.celeryWorkerQueuesVariable ? 'CELERY_WORKER_QUEUES' : 'CELERY_QUEUES',
      )
    } finally {
      await broker.del(`${P()}retention`)
    }
  })

  it('SECRET_KEY: empty with .dify_secret_key in storage is read from storage from 1.14.1 only', async () => {
    const root = mkdtempSync(join(tmpdir(), 'dops-sk-'))
    writeFileSync(join(root, '.dify_secret_key'), `${randomBytes(36).toString('base64url')}\n`)
    const skEnv = {
      ...env,
      SECRET_KEY: '',
      STORAGE_TYPE: 'opendal',
      OPENDAL_SCHEME: 'fs',
      OPENDAL_FS_ROOT: root,
      VECTOR_STORE: 'weaviate',
      WEAVIATE_ENDPOINT: 'http://127.0.0.1:9',
    }
    const d = await runCli(['doctor', '--json'], { env: skEnv })
    const check = d.json.checks.find((c: { name: string }) => c.name === 'secret key')
    expect(check.details.source).toBe(profile.secretKeyFromStorage ? 'storage' : 'missing')
    expect(d.stdout + d.stderr).not.toContain(readFileSync(join(root, '.dify_secret_key'), 'utf8').trim())
    const c = await runCli(['config', 'show', '--json'], { env: skEnv })
    expect(c.code, c.stderr).toBe(0)
    expect(c.json.secretKey.source).toBe('storage')
    const withEnv = await runCli(['config', 'show', '--json'], {
      env: { ...skEnv, SECRET_KEY: 'from-the-environment' },
    })
    expect(withEnv.json.secretKey.source).toBe('environment')
    expect(withEnv.stdout).not.toContain('from-the-environment')
  })

  it.runIf(profile.oauthAccessTokens)(
    'oauth_access_tokens: account show lists them, reset-password and ban revoke them and their cache',
    async () => {
      const a = await seedAccount(db, { email: `dev-${dialect}@example.com` })
      const b = await seedAccount(db, { email: `dev2-${dialect}@example.com` })
      const other = await seedAccount(db, { email: `bystander-${dialect}@example.com` })
      const now = Date.now()
      const ts = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19)
      const seedToken = async (accountId: string, o: { expired?: boolean } = {}) => {
        const hash = createHash('sha256').update(randomBytes(32)).digest('hex')
        await db.query(
          `insert into oauth_access_tokens (id, subject_email, account_id, client_id, device_label, prefix, token_hash, created_at, last_used_at, expires_at)
         values (?, 'x@example.com', ?, 'difyctl', 'laptop', 'dfoa_', ?, ?, ?, ?)`,
          [
            randomUUID(),
            accountId,
            hash,
            ts(now - 3600_000),
            ts(now - 60_000),
            ts(o.expired ? now - 1000 : now + 86_400_000),
          ],
        )
        await redis.client.set(`${P()}auth:token:${hash}`, '{"cached":true}', 'EX', 60)
        return hash
      }
      const ha = [await seedToken(a.id), await seedToken(a.id), await seedToken(a.id, { expired: true })]
      const hb = await seedToken(b.id)
      const ho = await seedToken(other.id)

      const show = await cli(['account', 'show', a.email, '--json'])
      expect(show.code, show.stderr).toBe(0)
      expect(show.json.oauthSessions.live).toBe(2)
      expect(show.json.oauthSessions.lastUsedAt).not.toBe(null)

      const dry = await cli(['reset-password', '--email', a.email, '--password-stdin', '--dry-run', '--json'], NEW_PW)
      expect(dry.json.sessions.oauthTokens).toBe(3)
      // the dry run wrote nothing: every token live, every cache entry still there
      for (const h of ha) expect(await redis.client.exists(`${P()}auth:token:${h}`)).toBe(1)
      expect(
        Number(
          (
            await db.query(
              'select count(*) as n from oauth_access_tokens where account_id = ? and revoked_at is null',
              [a.id],
            )
          )[0]!.n,
        ),
      ).toBe(3)

      const r = await cli(['reset-password', '--email', a.email, '--password-stdin', '--json'], NEW_PW)
      expect(r.code, r.stderr + r.stdout).toBe(0)
      expect(r.json.sessions.oauthTokens).toBe(3)
      const rows = await db.query('select revoked_at, token_hash from oauth_access_tokens where account_id = ?', [a.id])
      expect(rows.every((x) => x.revoked_at !== null && x.token_hash === null)).toBe(true)
      for (const h of ha) expect(await redis.client.exists(`${P()}auth:token:${h}`)).toBe(0)

      const ban = await cli(['account', 'ban', b.email, '--json'])
      expect(ban.code, ban.stderr + ban.stdout).toBe(0)
      expect(ban.json.sessions.oauthTokens).toBe(1)
      expect(await redis.client.exists(`${P()}auth:token:${hb}`)).toBe(0)
      // the bystander keeps its token and its cache
      expect(
        (await db.query('select revoked_at, token_hash from oauth_access_tokens where account_id = ?', [other.id]))[0],
      ).toMatchObject({ revoked_at: null, token_hash: ho })
      expect(await redis.client.exists(`${P()}auth:token:${ho}`)).toBe(1)
    },
  )
})
