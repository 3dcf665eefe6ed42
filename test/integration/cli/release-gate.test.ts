/**
 * Every writing command (static writes = true in the oclif manifest) refuses a database outside the supported Dify
 * releases with exit 4 when --force-version is not given, and writes nothing anywhere: not to the database, not to
 * Redis (cache and broker, audit stream included), not to storage. The list comes from the manifest, so a new
 * writing command is covered without touching this file (it only needs arguments below).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { Redis } from 'ioredis'
import { runCli } from '../../support/cli.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG, REDIS } from '../../support/services.js'
import { loadRelease } from '../../support/oracles.js'
import { fakeDifyCode } from '../../support/dify-code-fake.js'
import { MANIFESTS, NO_MANIFEST } from '../../../src/dify/manifest.js'

const manifest = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../oclif.manifest.json', import.meta.url)), 'utf8'),
) as {
  commands: Record<string, { writes?: boolean; releaseCheck?: string; flags: Record<string, unknown> }>
}
const writers = Object.entries(manifest.commands)
  .filter(([, c]) => c.writes)
  .map(([id]) => id)
  .sort()

const TENANT = '6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f'
/** storage migrate's target: an fs root of its own, outside the storage the snapshots compare */
const MIGRATE_TARGET = mkdtempSync(join(tmpdir(), 'dify-ops-gate-target-'))
const MIGRATE_TARGET_ENV = join(MIGRATE_TARGET, 'target.env')
writeFileSync(
  MIGRATE_TARGET_ENV,
  `STORAGE_TYPE=opendal\nOPENDAL_SCHEME=fs\nOPENDAL_FS_ROOT=${join(MIGRATE_TARGET, 'root')}\n`,
)
/** the arguments that get each command past its own usage checks, up to the point where it would write */
const ARGS: Record<string, string[]> = {
  'account:ban': ['ops@example.com'],
  'account:unban': ['ops@example.com'],
  'account:unlock': ['ops@example.com'],
  'db:lock:clear': ['--yes'],
  'db:stamp': ['head', '--yes'],
  'db:upgrade': [],
  'documents:requeue': ['--yes', '--timeout', '0.01'],
  'encryption:restore-key': ['--tenant', TENANT, '--backup', '20260101T000000Z'],
  'encryption:rotate': ['--yes'],
  'queue:purge': ['dataset', '--yes'],
  'queue:restore-unacked': ['--older-than', '0', '--yes', '--timeout', '0'],
  'reset-email': ['--email', 'ops@example.com', '--new-email', 'new@example.com'],
  'reset-encrypt-key-pair': ['--yes'],
  'reset-password': ['--email', 'ops@example.com', '--password-stdin'],
  'retention:clean': ['--yes'],
  'retention:restore': [join(tmpdir(), 'dify-ops-gate-no-archive')],
  'storage:migrate': ['--to-env-file', MIGRATE_TARGET_ENV, '--yes'],
  'storage:purge': ['20260101T000000Z-abcdef', '--yes'],
  'storage:quarantine': ['--yes'],
  'storage:restore': ['20260101T000000Z-abcdef'],
  'vdb:repair': ['--delete-orphans', '--fill-missing', '--yes'],
  'vdb-migrate': ['--yes'],
}

let redis: ScratchRedis
let storageRoot: string
const dbs: Scratch[] = []

async function dbWithVersions(versions: string[]): Promise<Scratch> {
  const s = await scratchPg('gate')
  dbs.push(s)
  const c = new pg.Client({ ...PG, database: s.name })
  await c.connect()
  await c.query('create table alembic_version (version_num varchar(32) not null primary key)')
  for (const v of versions) await c.query('insert into alembic_version values ($1)', [v])
  // a table a write would touch, so "nothing written" is checked on data too
  await c.query(
    'create table accounts (id uuid primary key, email varchar(255), password varchar(255), status varchar(16))',
  )
  await c.query(`insert into accounts values ('${TENANT}', 'ops@example.com', null, 'active')`)
  await c.end()
  return s
}

async function dbSnapshot(s: Scratch): Promise<string> {
  const c = new pg.Client({ ...PG, database: s.name })
  await c.connect()
  const tables = await c.query(
    `select table_name from information_schema.tables where table_schema = 'public' order by 1`,
  )
  const out: string[] = []
  for (const { table_name } of tables.rows)
    out.push(table_name, JSON.stringify((await c.query(`select * from "${table_name}" order by 1`)).rows))
  await c.end()
  return out.join('\n')
}

async function redisSnapshot(): Promise<string> {
  const out: string[] = []
  for (const db of [0, 1]) {
    const c = new Redis({ ...REDIS, db })
    const keys = (await c.keys(`${redis.prefix}*`)).sort()
    for (const k of keys) out.push(`${db} ${k} ${await c.type(k)} ${JSON.stringify(await c.dump(k))}`)
    c.disconnect()
  }
  return out.join('\n')
}

function storageSnapshot(dir: string): string {
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]))
  return walk(dir).sort().join('\n')
}

beforeAll(async () => {
  redis = await scratchRedis('gate')
  // something for each Redis-only writer to change: a lock-out, a waiting message, an unacked entry, the upgrade lock
  const broker = new Redis({ ...REDIS, db: 1 })
  await redis.client.set(`${redis.prefix}login_error_rate_limit:ops@example.com`, '5')
  await redis.client.set(`${redis.prefix}db_upgrade_lock`, 'held', 'PX', 600_000)
  await broker.lpush(
    `${redis.prefix}dataset`,
    JSON.stringify({ body: '', headers: { task: 't' }, properties: { delivery_tag: 'x' } }),
  )
  await broker.hset(
    `${redis.prefix}unacked`,
    'tag1',
    JSON.stringify([{ body: '', headers: {}, properties: {} }, '', 'dataset']),
  )
  await broker.zadd(`${redis.prefix}unacked_index`, 1, 'tag1')
  broker.disconnect()
  storageRoot = mkdtempSync(join(tmpdir(), 'dops-gate-'))
})

afterAll(async () => {
  await redis?.drop()
  for (const d of dbs) await d.drop()
})

describe('the release check of every writing command', () => {
  it('the manifest lists the writing commands, each with --dry-run and --force-version (db upgrade: its planner decides)', () => {
    expect(writers).toEqual(Object.keys(ARGS).sort())
    for (const id of writers) {
      expect(Object.keys(manifest.commands[id]!.flags), id).toContain('dry-run')
      if (manifest.commands[id]!.releaseCheck !== 'migrations')
        expect(Object.keys(manifest.commands[id]!.flags), id).toContain('force-version')
    }
  })

  describe.each([
    ['a garbage alembic revision', ['deadbeef0bad']],
    ["Dify 0.15.0's head", ['a91b476a53de']],
  ])('against a database at %s', (_what, versions) => {
    let db: Scratch
    beforeAll(async () => {
      db = await dbWithVersions(versions)
    })

    it.each(writers)('%s exits 4 and writes nothing', async (id) => {
      const env = {
        ...db.env,
        ...redis.env,
        EDITION: 'SELF_HOSTED',
        VECTOR_STORE: 'pgvector',
        OPENDAL_SCHEME: 'fs',
        OPENDAL_FS_ROOT: storageRoot,
      }
      const before = [await dbSnapshot(db), await redisSnapshot(), storageSnapshot(storageRoot)]
      const r = await runCli([...id.split(':'), ...ARGS[id]!, '--json'], { env, input: 'N3w-Passw0rd!x\n' })
      expect(r.code, `${id}: ${r.stdout}${r.stderr}`).toBe(4)
      expect(r.json?.error?.code, r.stdout).toBe('CONFIG')
      expect(r.json.error.message).toMatch(versions[0]!.startsWith('dead') ? /deadbeef0bad/ : /a91b476a53de/)
      expect([await dbSnapshot(db), await redisSnapshot(), storageSnapshot(storageRoot)]).toEqual(before)
    })
  })

  it('a 2-row alembic_version is named as such, not as "no alembic_version"', async () => {
    const db = await dbWithVersions(['a91b476a53de', 'deadbeef0bad'])
    const r = await runCli(['account', 'unlock', 'ops@example.com', '--json'], { env: { ...db.env, ...redis.env } })
    expect(r.code).toBe(4)
    expect(r.json.error.message).toMatch(/alembic_version holds 2 rows/)
    expect(r.json.error.message).not.toMatch(/no alembic_version/)
  })

  it('Dify tables without alembic_version: db stamp refuses (hint: --force-version), then stamps with it', async () => {
    const s = await scratchPg('gatestamp')
    dbs.push(s)
    // a key space of its own: the shared one holds a seeded db_upgrade_lock, which stamp (rightly) waits for
    const r2 = await scratchRedis('gatestamp')
    const c = new pg.Client({ ...PG, database: s.name })
    await c.connect()
    try {
      await c.query('create table accounts (id uuid primary key)')
      const env = { ...s.env, ...r2.env }
      const r = await runCli(['db', 'stamp', 'head', '--yes', '--json'], { env })
      expect(r.code, r.stdout).toBe(4)
      expect(r.json.error.hint).toMatch(/db stamp REV --force-version/)
      expect((await c.query(`select to_regclass('alembic_version') as t`)).rows[0].t).toBeNull()
      const f = await runCli(['db', 'stamp', 'head', '--yes', '--force-version', '--json'], { env })
      expect(f.code, f.stdout + f.stderr).toBe(0)
      expect((await c.query('select version_num from alembic_version')).rows).toHaveLength(1)
    } finally {
      await c.end()
      await r2.drop()
    }
  })

  it('--force-version goes on with a warning; --dry-run only warns', async () => {
    const db = await dbWithVersions(['deadbeef0bad'])
    const env = { ...db.env, ...redis.env }
    const dry = await runCli(['account', 'unlock', 'ops@example.com', '--dry-run', '--json'], { env })
    expect(dry.code, dry.stderr).toBe(0)
    expect(await redis.client.exists(`${redis.prefix}login_error_rate_limit:ops@example.com`)).toBe(1)
    // a Redis-only writer with --force-version does not even open the database for the check
    const forced = await runCli(['account', 'unlock', 'ops@example.com', '--force-version', '--json'], { env })
    expect(forced.code, forced.stderr).toBe(0)
    expect(await redis.client.exists(`${redis.prefix}login_error_rate_limit:ops@example.com`)).toBe(0)
    // the forced write is audited
    expect(await redis.client.xlen(`${redis.prefix}dify_ops:audit`)).toBe(1)
    // a database writer says what it forced, once
    const stamp = await runCli(['db', 'stamp', 'head', '--force-version', '--dry-run'], { env })
    expect(stamp.stderr.match(/outside the supported/g)?.length, stamp.stderr).toBe(1)
  })
})

/**
 * A database newer than the CLI knows: Dify 1.15.0's schema, one unrelated table and a revision after d9e8f7a6b5c4
 * that only the Dify code at hand knows. Every writer with a manifest (src/dify/manifest.ts) gets past the release
 * check with a warning; every writer without one refuses (exit 4, nothing written). With a column its manifest names
 * renamed, every writer with a non-empty manifest refuses naming it, and writes nothing anywhere.
 */
describe('every writing command on a database newer than the CLI knows', () => {
  const NEW_REV = 'f00dcafe0002'
  let db: Scratch
  let root: string
  let env: Record<string, string>
  beforeAll(async () => {
    db = await scratchPg('gatenewer')
    dbs.push(db)
    await loadRelease(db, 'postgres', '1.15.0')
    const c = new pg.Client({ ...PG, database: db.name })
    await c.connect()
    await c.query('create table future_things (id uuid primary key, note text)')
    await c.query('update alembic_version set version_num = $1', [NEW_REV])
    await c.query(
      `insert into accounts (id, name, email, status) values ('${TENANT}', 'ops', 'ops@example.com', 'banned')`,
    )
    await c.end()
    root = fakeDifyCode(NEW_REV)
    env = {
      ...db.env,
      ...redis.env,
      EDITION: 'SELF_HOSTED',
      VECTOR_STORE: 'pgvector',
      OPENDAL_SCHEME: 'fs',
      OPENDAL_FS_ROOT: storageRoot,
      DIFY_OPS_DIFY_ROOT: root,
    }
  }, 120_000)

  const gated = () => writers.filter((id) => manifest.commands[id]!.releaseCheck !== 'migrations')
  const op = (id: string) => id.replace(/:/g, '-')

  it('each writer has a manifest or a stated reason to refuse', () => {
    for (const id of gated()) expect(op(id) in MANIFESTS || op(id) in NO_MANIFEST, id).toBe(true)
    expect(Object.keys(NO_MANIFEST).filter((k) => k in MANIFESTS)).toEqual([])
  })

  it.each(writers.filter((id) => manifest.commands[id]!.releaseCheck !== 'migrations'))(
    '%s: runs with a warning when it has a manifest, else exits 4 writing nothing',
    async (id) => {
      const before = [await dbSnapshot(db), await redisSnapshot(), storageSnapshot(storageRoot)]
      const r = await runCli([...id.split(':'), ...ARGS[id]!, '--json'], { env, input: 'N3w-Passw0rd!x\n' })
      if (op(id) in MANIFESTS) {
        // past the release check: whatever the command then says, it is not the refusal of a newer database
        expect(r.json?.error?.message ?? '', `${id}: ${r.stdout}${r.stderr}`).not.toMatch(/newer than this CLI knows/)
        expect(r.stderr, id).toMatch(/newer than this CLI knows/)
      } else {
        expect(r.code, `${id}: ${r.stdout}${r.stderr}`).toBe(4)
        expect(r.json.error.message).toMatch(/newer than this CLI knows/)
        expect([await dbSnapshot(db), await redisSnapshot(), storageSnapshot(storageRoot)]).toEqual(before)
      }
    },
    60_000,
  )

  it('db upgrade refuses: it never migrates past its head', async () => {
    const r = await runCli(['db', 'upgrade', '--json'], { env })
    expect(r.code, r.stdout + r.stderr).toBe(4)
  })

  describe('with a column of the manifests renamed', () => {
    beforeAll(async () => {
      const c = new pg.Client({ ...PG, database: db.name })
      await c.connect()
      await c.query('alter table accounts rename column password_salt to password_salt_v2')
      await c.query('alter table tenants rename column encrypt_public_key to encrypt_public_key_v2')
      await c.end()
    })

    const withTables = () =>
      gated().filter((id) => op(id) in MANIFESTS && Object.keys(MANIFESTS[op(id) as keyof typeof MANIFESTS]).length)

    it('the writers that touch tables are named', () => {
      expect(withTables().sort()).toEqual(
        [
          'account:ban',
          'account:unban',
          'encryption:restore-key',
          'reset-email',
          'reset-encrypt-key-pair',
          'reset-password',
        ].sort(),
      )
    })

    it.each(
      writers.filter(
        (id) =>
          manifest.commands[id]!.releaseCheck !== 'migrations' &&
          id.replace(/:/g, '-') in MANIFESTS &&
          Object.keys(MANIFESTS[id.replace(/:/g, '-') as keyof typeof MANIFESTS]).length,
      ),
    )(
      '%s exits 4 naming the column and writes nothing',
      async (id) => {
        const before = [await dbSnapshot(db), await redisSnapshot(), storageSnapshot(storageRoot)]
        const r = await runCli([...id.split(':'), ...ARGS[id]!, '--json'], { env, input: 'N3w-Passw0rd!x\n' })
        expect(r.code, `${id}: ${r.stdout}${r.stderr}`).toBe(4)
        expect(r.json.error.message).toMatch(
          /the column (accounts\.password_salt|tenants\.encrypt_public_key) does not exist/,
        )
        expect([await dbSnapshot(db), await redisSnapshot(), storageSnapshot(storageRoot)]).toEqual(before)
      },
      60_000,
    )
  })
})
