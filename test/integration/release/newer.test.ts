/**
 * A database newer than the CLI knows: the 1.15.0 schema (loadRelease) plus one table and a revision id that
 * only the Dify code at hand (a fake versions directory passed with --dify-root) knows, descending from
 * d9e8f7a6b5c4. Read commands warn; reset-password runs because every column of its manifest is as at 1.15.0;
 * the same database with an accounts column renamed makes reset-password exit 4 naming the column. Also: the
 * manifests hold on a fresh 1.15.0 schema on both dialects.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../support/cli.js'
import { scratchMysql, scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { loadRelease } from '../../support/oracles.js'
import { openScratchDb } from '../../support/dify-schema.js'
import { seedAccount, seedDb, type SeedDb } from '../../support/dify-accounts.js'
import { MANIFESTS, verifyManifest } from '../../../src/dify/manifest.js'
import { fakeDifyCode } from '../../support/dify-code-fake.js'

const NEW_REV = 'f00dcafe0001'
const NEW_PW = 'Correct-horse-battery-9'

describe('a database newer than the CLI knows (PostgreSQL)', () => {
  let scratch: Scratch
  let redis: ScratchRedis
  let db: SeedDb
  let env: Record<string, string>
  let root: string
  beforeAll(async () => {
    scratch = await scratchPg('newer')
    await loadRelease(scratch, 'postgres', '1.15.0')
    db = await seedDb('postgres', scratch.name)
    await db.query('create table future_things (id uuid primary key, note text)')
    await db.query('update alembic_version set version_num = ?', [NEW_REV])
    redis = await scratchRedis('newer')
    env = { ...scratch.env, ...redis.env, DIFY_OPS_CONNECT_TIMEOUT: '3' }
    root = fakeDifyCode(NEW_REV)
  }, 120_000)
  afterAll(async () => {
    await db?.close()
    await redis?.drop()
    await scratch?.drop()
  })

  it('without the Dify code the revision is unknown: writes refuse without suggesting upgrade-db', async () => {
    await seedAccount(db, { email: 'nocode@example.com' })
    const r = await runCli(['reset-password', '--email', 'nocode@example.com', '--password-stdin', '--json'], {
      env,
      input: NEW_PW,
    })
    expect(r.code).toBe(4)
    expect(r.json.error.hint).toMatch(/--dify-root/)
    expect(r.json.error.hint).not.toMatch(/dify upgrade-db/)
  })

  it('read commands warn and run', async () => {
    await seedAccount(db, { email: 'reader@example.com' })
    const show = await runCli(['account', 'show', 'reader@example.com', '--dify-root', root, '--json'], { env })
    expect(show.code, show.stderr).toBe(0)
    expect(show.stderr).toMatch(/newer than this CLI knows/)
    expect(show.json.database).toMatchObject({
      revision: NEW_REV,
      status: 'newer',
      supported: false,
      difyVersion: null,
    })
    expect(show.json.oauthSessions).toEqual({ live: 0, lastUsedAt: null, tokens: [] })
    const q = await runCli(['queue', 'list', '--no-workers', '--dify-root', root, '--json'], { env })
    expect(q.code, q.stderr).toBe(0)
    expect(q.json.queueList.note).toMatch(/newer than this CLI knows/)
    const viaEnv = await runCli(['account', 'show', 'reader@example.com', '--json'], {
      env: { ...env, DIFY_OPS_DIFY_ROOT: root },
    })
    expect(viaEnv.json.database.status).toBe('newer')
  })

  it('every read-only command that opens the database warns once (the base command notices the release)', async () => {
    await seedAccount(db, { email: 'notice@example.com' })
    const storage = mkdtempSync(join(tmpdir(), 'dops-newer-storage-'))
    for (const args of [
      ['documents', 'stuck'],
      ['retention', 'report'],
      ['encryption', 'check'],
      ['account', 'show', 'notice@example.com'],
      ['account', 'list'],
      ['storage', 'orphans'],
    ]) {
      const r = await runCli(args, {
        env: {
          ...env,
          DIFY_OPS_DIFY_ROOT: root,
          STORAGE_TYPE: 'opendal',
          OPENDAL_SCHEME: 'fs',
          OPENDAL_FS_ROOT: storage,
        },
      })
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
      expect(r.stderr.match(/newer than this CLI knows/g), args.join(' ')).toHaveLength(1)
      // a report that names the release in its header says it is not known, never "Dify ?"
      expect(r.stdout, args.join(' ')).not.toMatch(/Dify \?/)
      if (args[0] === 'retention') expect(r.stdout, args.join(' ')).toMatch(/a Dify release this CLI does not know/)
    }
    // the commands that report the release themselves say it in their own words only
    const status = await runCli(['db', 'status', '--dify-root', root], { env })
    expect(status.stderr).not.toMatch(/Warning:/)
  })

  it('--dify-root is a flag of every command (the release hint names it), and DIFY_OPS_DIFY_ROOT reaches db status', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'dops-newer-root-'))
    const storageEnv = { STORAGE_TYPE: 'opendal', OPENDAL_SCHEME: 'fs', OPENDAL_FS_ROOT: storage }
    for (const args of [
      ['encryption', 'check'],
      ['documents', 'stuck'],
      ['retention', 'report'],
      ['storage', 'orphans'],
      ['account', 'unlock', 'nobody@example.com', '--dry-run'],
    ]) {
      const r = await runCli([...args, '--dify-root', root], { env: { ...env, ...storageEnv } })
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
      expect(r.stderr, args.join(' ')).toMatch(/newer than this CLI knows/)
    }
    const status = await runCli(['db', 'status', '--json'], { env: { ...env, DIFY_OPS_DIFY_ROOT: root } })
    const byFlag = await runCli(['db', 'status', '--json', '--dify-root', root], { env })
    expect(status.json, status.stderr).toEqual(byFlag.json)
    const upgrade = await runCli(['upgrade-db', '--json'], { env: { ...env, DIFY_OPS_DIFY_ROOT: root } })
    expect(upgrade.code, upgrade.stdout).toBe(4)
    // a folder without migrations on the command line: exit 4 before any connection (nothing listens on port 1)
    const empty = mkdtempSync(join(tmpdir(), 'dops-no-migrations-'))
    for (const args of [
      ['account', 'list'],
      ['queue', 'peek', 'dataset'],
      ['db', 'status'],
    ]) {
      const r = await runCli([...args, '--dify-root', empty, '--json'], {
        env: { ...env, DB_PORT: '1', REDIS_PORT: '1', CELERY_BROKER_URL: 'redis://127.0.0.1:1/0' },
      })
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).toBe(4)
      expect(r.json.error.message).toBe(`No Dify migrations were found under ${empty}.`)
    }
  })

  it('reset-password runs with a warning when everything it touches is as at 1.15.0', async () => {
    const a = await seedAccount(db, { email: 'writer@example.com' })
    const before = (await db.query('select password from accounts where id = ?', [a.id]))[0]!.password
    const r = await runCli(
      ['reset-password', '--email', 'writer@example.com', '--password-stdin', '--dify-root', root, '--json'],
      { env, input: NEW_PW },
    )
    expect(r.code, r.stderr + r.stdout).toBe(0)
    expect(r.stderr).toMatch(/newer than this CLI knows.*goes on/s)
    expect(r.stderr).not.toMatch(/upgrade-db/)
    // one warning (the base command's release check and the command's own say the same once), and it does not claim
    // a --force-version that was not passed
    expect(r.stderr.match(/newer than this CLI knows/g)).toHaveLength(1)
    expect(r.stderr).not.toMatch(/force-version/)
    expect((await db.query('select password from accounts where id = ?', [a.id]))[0]!.password).not.toBe(before)
  })

  it('with --force-version the write says it goes on because of it, once', async () => {
    await seedAccount(db, { email: 'forced@example.com' })
    const r = await runCli(
      ['reset-password', '--email', 'forced@example.com', '--password-stdin', '--force-version', '--json'],
      { env, input: NEW_PW },
    )
    expect(r.code, r.stderr + r.stdout).toBe(0)
    expect(r.stderr.match(/Going on because of --force-version\./g)).toHaveLength(1)
  })

  it('a renamed accounts column: reset-password exits 4 naming it, and writes nothing', async () => {
    const a = await seedAccount(db, { email: 'renamed@example.com' })
    await db.query('alter table accounts rename column password_salt to password_salt_v2')
    try {
      const snap = JSON.stringify(await db.query('select * from accounts order by id'))
      const r = await runCli(
        ['reset-password', '--email', a.email, '--password-stdin', '--dify-root', root, '--json'],
        { env, input: NEW_PW },
      )
      expect(r.code).toBe(4)
      expect(r.json.error.message).toMatch(/accounts\.password_salt does not exist/)
      expect(r.json.error.hint).not.toMatch(/run dify upgrade-db|\(dify upgrade-db\)/)
      expect(JSON.stringify(await db.query('select * from accounts order by id'))).toBe(snap)
      const ban = await runCli(['account', 'ban', a.email, '--dify-root', root, '--json'], { env })
      expect(ban.code).toBe(4)
    } finally {
      await db.query('alter table accounts rename column password_salt_v2 to password_salt')
    }
  })
})

describe.each(['postgres', 'mysql'] as const)('the manifests at the 1.15.0 head (%s)', (dialect) => {
  let scratch: Scratch
  beforeAll(async () => {
    scratch = dialect === 'postgres' ? await scratchPg('manifest') : await scratchMysql('manifest')
    await loadRelease(scratch, dialect, '1.15.0')
  }, 120_000)
  afterAll(async () => scratch?.drop())

  it('every manifest matches the schema Dify 1.15.0 creates', async () => {
    const db = await openScratchDb(scratch.env)
    try {
      for (const [op, m] of Object.entries(MANIFESTS)) expect(await verifyManifest(db, m), op).toBe(null)
      // and a changed type is named
      expect(
        await verifyManifest(db, { accounts: { columns: { email: { kind: 'varchar(64)', nullable: false } } } }),
      ).toMatch(/accounts\.email is .*255/)
      expect(await verifyManifest(db, { accounts: { columns: {}, primaryKey: ['email'] } })).toMatch(
        /primary key of accounts is \(id\)/,
      )
      expect(await verifyManifest(db, { no_such_table: { columns: {} } })).toMatch(/no_such_table does not exist/)
    } finally {
      await db.close()
    }
  })
})
