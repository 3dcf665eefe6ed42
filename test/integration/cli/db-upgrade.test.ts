import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { BIN, runCli } from '../../support/cli.js'
import { openScratchDb } from '../../support/dify-schema.js'
import { loadRelease, releaseSchema } from '../../support/oracles.js'
import { diffSchemas, introspectSchema } from '../../../src/migrations/schema/introspect.js'
import { scratchMysql, scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { BASELINE, REVISION_LIST } from '../../../src/migrations/registry.js'
import { buildChain } from '../../../src/migrations/graph.js'
import { keys } from '../../../src/dify/keys.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const haveRevisions = REVISION_LIST.length > 0

async function q(database: string, text: string, params: unknown[] = []): Promise<any[]> {
  const c = new pg.Client({ ...PG, database })
  await c.connect()
  try {
    return (await c.query(text, params)).rows
  } finally {
    await c.end()
  }
}
const versions = async (db: string) =>
  (
    await q(
      db,
      "select count(*)::int as n from information_schema.tables where table_name = 'alembic_version' and table_schema = current_schema()",
    )
  )[0].n
    ? (await q(db, 'select version_num from alembic_version')).map((r) => r.version_num)
    : null
/** columns, indexes and alembic_version: "nothing changed" when equal */
async function fingerprint(db: string): Promise<string> {
  const cols = await q(
    db,
    "select table_name || '.' || column_name || ':' || data_type || ':' || is_nullable || ':' || coalesce(column_default, '') as t from information_schema.columns where table_schema = 'public' order by 1",
  )
  const idx = await q(db, "select indexdef as t from pg_indexes where schemaname = 'public' order by 1")
  return [...cols.map((r) => r.t), ...idx.map((r) => r.t), JSON.stringify(await versions(db))].join('\n')
}

async function schemaOfScratch(s: Scratch) {
  const db = await openScratchDb(s.env)
  try {
    return await introspectSchema(db)
  } finally {
    await db.close()
  }
}

describe('dify db (CLI, any registry)', () => {
  it('--sql and --dry-run together are a usage error', async () => {
    const r = await runCli(['db', 'upgrade', '--sql', '--dry-run'], { env: { DB_HOST: '127.0.0.1' } })
    expect(r.code).toBe(2)
  })
})

describe.skipIf(!haveRevisions)('dify upgrade-db (CLI, real registry)', () => {
  const head = haveRevisions ? buildChain(REVISION_LIST).head.revision : ''
  // the kill test stops a run inside the revision after `second`: one without non-transactional statements
  // what a fresh database gets: the baseline's revision, then the steps after it
  const ordered = haveRevisions
    ? REVISION_LIST.slice(REVISION_LIST.findIndex((r) => r.revision === BASELINE.revision))
    : []
  const second = ordered.find(
    (r, i) => i >= 1 && ordered[i + 1] && !ordered[i + 1]!.statements('postgres').some((st) => st.noTransaction),
  )?.revision
  let redis: ScratchRedis
  const dbs: Scratch[] = []
  const env = (s: Scratch) => ({ ...s.env, ...redis.env })
  async function freshDb(tag: string) {
    const s = await scratchPg(tag)
    dbs.push(s)
    return s
  }
  beforeAll(async () => {
    redis = await scratchRedis('cliup')
  })
  afterAll(async () => {
    for (const s of dbs) await s.drop().catch(() => {})
    await redis.drop()
  })

  it('ten concurrent upgrade-db on one fresh database: exactly one migrates, all exit 0, alembic_version = head', async () => {
    const s = await freshDb('ten')
    const runs = await Promise.all(
      Array.from({ length: 10 }, () => runCli(['upgrade-db', '--json'], { env: env(s), timeoutMs: 120_000 })),
    )
    for (const r of runs) expect(r.code, r.stderr).toBe(0)
    const migrated = runs.filter((r) => r.json.status === 'upgraded')
    expect(migrated.length).toBe(1)
    expect(migrated[0]!.json.applied.length).toBe(ordered.length)
    expect(runs.filter((r) => r.json.status === 'up-to-date').every((r) => r.json.applied.length === 0)).toBe(true)
    for (const r of runs) expect(r.stdout + r.stderr).not.toMatch(/skipped/i)
    expect(await versions(s.name)).toEqual([head])
    expect(await redis.client.exists(keys.dbUpgradeLock(redis.prefix))).toBe(0)
  }, 180_000)

  it('fresh PostgreSQL → upgrade-db is exactly a fresh Dify 1.15.0; MariaDB fresh → head too', async () => {
    const s = await freshDb('oracle')
    const r = await runCli(['upgrade-db', '--json'], { env: env(s) })
    expect(r.code, r.stderr).toBe(0)
    expect(
      diffSchemas(await releaseSchema('postgres', '1.15.0'), await schemaOfScratch(s), ['dify 1.15.0', 'ours']),
    ).toEqual([])
    expect(await versions(s.name)).toEqual([head])
    const m = await scratchMysql('cliupmy')
    try {
      const mr = await runCli(['upgrade-db', '--json'], { env: { ...m.env, ...redis.env } })
      expect(mr.code, mr.stderr).toBe(0)
      expect(mr.json).toMatchObject({ dialect: 'mysql', transactionalDdl: false, status: 'upgraded', to: head })
      expect(mr.stderr).toContain('not transactional on MySQL') // the record of what will run
      const again = await runCli(['upgrade-db', '--json'], { env: { ...m.env, ...redis.env } })
      expect(again.json.status).toBe('up-to-date')
      expect(
        diffSchemas(await releaseSchema('mysql', '1.15.0'), await schemaOfScratch(m), ['dify 1.15.0', 'ours']),
      ).toEqual([])
    } finally {
      await m.drop()
    }
  }, 600_000)

  it('--dry-run and db status show, per pending revision, the existing tables with row estimates and locks, and the previews', async () => {
    const s = await freshDb('impact')
    await loadRelease(s, 'postgres', '1.12.1')
    await q(
      s.name,
      `insert into tenant_default_models (id, tenant_id, provider_name, model_name, model_type, updated_at) values
      ('d0000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001', 'openai', 'a', 'llm', '2024-01-01'),
      ('d0000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000001', 'openai', 'b', 'llm', '2024-02-01')`,
    )
    await q(s.name, 'analyze conversations')
    const before = await fingerprint(s.name)
    const d = await runCli(['db', 'upgrade', '--dry-run', '--json'], { env: env(s) })
    expect(d.code, d.stderr).toBe(0)
    const e288 = d.json.pending.find((p: any) => p.revision === 'e288952f2994')
    expect(e288.tables).toEqual([
      { table: 'conversations', estimatedRows: 0, lock: 'SHARE', operations: ['CREATE INDEX'] },
    ])
    const f558 = d.json.pending.find((p: any) => p.revision === 'f55813ffe2c8')
    expect(f558.preview.rows).toEqual([{ tenant_id: '10000000-0000-4000-8000-000000000001', rows_removed: 1 }])
    expect(d.json.pending.find((p: any) => p.revision === 'c6a9f4b12d3e').tables).toEqual([]) // new tables only
    const human = await runCli(['db', 'status'], { env: env(s) })
    expect(human.stdout).toMatch(/conversations \(~0 rows\): CREATE INDEX, lock SHARE/)
    expect(human.stdout).toMatch(/apps \(.*\): ADD COLUMN, CREATE INDEX, UPDATE, lock ACCESS EXCLUSIVE/)
    expect(human.stdout).toContain('10000000-0000-4000-8000-000000000001  1')
    const dh = await runCli(['db', 'upgrade', '--dry-run'], { env: env(s) })
    expect(dh.stdout).toContain('dify_ops_removed_tenant_default_models')
    expect(await fingerprint(s.name)).toBe(before)
  }, 300_000)

  it("Dify's lock key follows the Dify at hand: bare before 1.14.0, with REDIS_KEY_PREFIX from 1.14.0", async () => {
    const s = await freshDb('lockkey')
    const root = mkdtempSync(join(tmpdir(), 'dify-root-'))
    const dir = join(root, 'api', 'migrations', 'versions')
    mkdirSync(dir, { recursive: true })
    const ids = buildChain(REVISION_LIST).ordered.map((r) => r.revision)
    const code = (upTo: string) => {
      rmSync(dir, { recursive: true, force: true })
      mkdirSync(dir, { recursive: true })
      for (const [i, id] of ids.slice(0, ids.indexOf(upTo) + 1).entries())
        writeFileSync(
          join(dir, `${i}_${id}.py`),
          `revision = '${id}'\ndown_revision = ${i ? `'${ids[i - 1]}'` : 'None'}\n`,
        )
    }
    code('6b5f9f8b1a2c') // Dify 1.13.3
    const old = await runCli(['db', 'status', '--dify-root', root, '--json'], { env: env(s) })
    expect(old.json.lock.redis.key).toBe('db_upgrade_lock')
    code('227822d22895') // Dify 1.14.0
    const now = await runCli(['db', 'status', '--dify-root', root, '--json'], { env: env(s) })
    expect(now.json.lock.redis.key).toBe(`${redis.prefix}db_upgrade_lock`)
    const cli = await runCli(['db', 'status', '--json'], { env: env(s) }) // no code at hand: the target (1.15.0) decides
    expect(cli.json.lock.redis.key).toBe(`${redis.prefix}db_upgrade_lock`)
    rmSync(root, { recursive: true, force: true })
  })

  it('--dry-run and --sql change nothing; --sql --from base needs no database', async () => {
    const s = await freshDb('dry')
    const before = await fingerprint(s.name)
    const d = await runCli(['db', 'upgrade', '--dry-run', '--json'], { env: env(s) })
    expect(d.code).toBe(0)
    expect(d.json.status).toBe('dry-run')
    expect(d.json.pending.length).toBe(ordered.length)
    const q1 = await runCli(['db', 'upgrade', '--sql'], { env: env(s) })
    expect(q1.code).toBe(0)
    expect(q1.stdout).toContain(
      'CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));',
    )
    expect(q1.stdout).toContain(`version_num='${head}'`)
    expect(await fingerprint(s.name)).toBe(before)
    // offline: an unreachable database does not matter with --from
    const off = await runCli(['db', 'upgrade', '--sql', '--from', 'base', '--json'], {
      env: { DB_TYPE: 'mysql', DB_HOST: '127.0.0.1', DB_PORT: '1' },
    })
    expect(off.code).toBe(0)
    expect(off.json).toMatchObject({ dialect: 'mysql', from: null, fromSource: 'flag' })
    expect(off.json.sql).not.toContain('BEGIN;')
  })

  it('an unreachable database is exit 5', async () => {
    const r = await runCli(['upgrade-db', '--json'], {
      env: {
        DB_TYPE: 'postgresql',
        DB_HOST: '127.0.0.1',
        DB_PORT: '1',
        REDIS_PORT: '1',
        DIFY_OPS_CONNECT_TIMEOUT: '2',
      },
    })
    expect(r.code).toBe(5)
    expect(r.json.error.code).toBe('CONNECT')
  })
  it('unknown --to is exit 2 listing the nearest revisions', async () => {
    const s = await freshDb('to')
    const bad = head.slice(0, 11) + (head.endsWith('0') ? '1' : '0')
    const r = await runCli(['upgrade-db', '--to', bad, '--json'], { env: env(s) })
    expect(r.code).toBe(2)
    expect(r.json.error.hint).toContain(head)
  })

  it('a run killed with SIGKILL mid-way leaves a clean revision; lock clear + the next run finish', async () => {
    if (!second) return
    const s = await freshDb('kill')
    const first = await runCli(['upgrade-db', '--to', second, '--json'], { env: env(s) })
    expect(first.code, first.stderr).toBe(0)
    const at = await versions(s.name)
    // block the next alembic_version write (reads still pass), so the run stops mid-revision
    const blocker = new pg.Client({ ...PG, database: s.name })
    await blocker.connect()
    await blocker.query('begin')
    await blocker.query('lock table alembic_version in share mode')
    const child = spawn(process.execPath, [BIN, 'upgrade-db', '--lock-timeout', '0'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env(s) },
      stdio: 'ignore',
    })
    let waiting = false
    for (let i = 0; i < 100 && !waiting; i++) {
      await sleep(200)
      const rows = await q(
        s.name,
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'dify-ops' and wait_event_type = 'Lock' and query like 'UPDATE alembic_version%'",
      )
      waiting = rows[0].n > 0
    }
    expect(waiting).toBe(true)
    const exited = new Promise((r) => child.on('exit', r))
    child.kill('SIGKILL')
    await exited
    await blocker.query('rollback')
    await blocker.end()
    await sleep(200)
    expect(await versions(s.name)).toEqual(at) // the half-done revision was rolled back with the dead session
    // the killed run's Redis lock stays until its TTL; an operator clears it, then upgrades
    const st = await runCli(['db', 'status', '--json'], { env: env(s) })
    expect(st.json.lock.redis.held).toBe(true)
    const nw = await runCli(['upgrade-db', '--no-wait', '--json'], { env: env(s) })
    expect(nw.code).toBe(6)
    const cl = await runCli(['db', 'lock', 'clear', '--yes', '--json'], { env: env(s) })
    expect(cl.code).toBe(0)
    expect(cl.json.deleted).toBe(true)
    const r = await runCli(['upgrade-db', '--json'], { env: env(s) })
    expect(r.code, r.stderr).toBe(0)
    expect(await versions(s.name)).toEqual([head])
  }, 120_000)

  it("--dify-root: the Dify code's head is the target; a head the CLI does not know is exit 4", async () => {
    const s = await freshDb('difyroot')
    const root = mkdtempSync(join(tmpdir(), 'dify-root-'))
    const dir = join(root, 'api', 'migrations', 'versions')
    mkdirSync(dir, { recursive: true })
    writeFileSync(
      join(dir, `2025_11_12_1537-${ordered[0]!.revision}_x.py`),
      `revision = '${ordered[0]!.revision}'\ndown_revision = '7bb281b7a422'\n`,
    )
    writeFileSync(
      join(dir, `2025_12_16_1817-${ordered[1]!.revision}_y.py`),
      `revision: str = "${ordered[1]!.revision}"\ndown_revision: Union[str, None] = "${ordered[0]!.revision}"\n`,
    )
    const r = await runCli(['upgrade-db', '--dify-root', root, '--json'], { env: env(s) })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.target).toMatchObject({ revision: ordered[1]!.revision, source: 'dify-code' })
    expect(await versions(s.name)).toEqual([ordered[1]!.revision])
    writeFileSync(join(dir, 'zz_future.py'), `revision = 'a6f1c9d2e8b4'\ndown_revision = '${ordered[1]!.revision}'\n`)
    const f = await runCli(['upgrade-db', '--dify-root', root, '--json'], { env: env(s) })
    expect(f.code).toBe(4)
    expect(f.json.error.message).toContain('a6f1c9d2e8b4')
    rmSync(root, { recursive: true, force: true })
  })

  it('a table locked by a live session: exit 6 (busy) after --lock-timeout, naming the revision and the table', async () => {
    // a revision that alters or indexes an existing table (its first such statement names the table)
    const alters = (r: (typeof ordered)[number]) => {
      const st = r.statements('postgres')
      const created = (t: string) => st.some((x) => new RegExp(`^\\s*create table\\s+"?${t}"?[\\s(]`, 'i').test(x.sql))
      return st.find((x) => x.table && !created(x.table) && /^\s*(alter table|create (unique )?index)/i.test(x.sql))
    }
    const i = ordered.findIndex(
      (r, k) => k >= 2 && alters(r) && !r.statements('postgres').some((st) => st.noTransaction),
    )
    expect(i).toBeGreaterThan(0)
    const next = ordered[i]!
    const before = ordered[i - 1]!.revision
    const table = alters(next)!.table!
    const s = await freshDb('locked')
    expect((await runCli(['upgrade-db', '--to', before, '--json'], { env: env(s) })).code).toBe(0)
    const holder = new pg.Client({ ...PG, database: s.name })
    holder.on('error', () => {})
    await holder.connect()
    await holder.query('begin')
    await holder.query(`lock table "${table}" in access exclusive mode`)
    try {
      const r = await runCli(['upgrade-db', '--lock-timeout', '1', '--json'], { env: env(s) })
      expect(r.code, r.stdout).toBe(6)
      expect(r.json.error.message).toContain(next.revision)
      expect(r.json.error.message).toContain(`table ${table}`)
      expect(r.json.error.details.lockedTable).toBe(table)
    } finally {
      await holder.query('rollback')
      await holder.end()
    }
    expect(await versions(s.name)).toEqual([before])
  })

  it('status, history and stamp', async () => {
    const s = await freshDb('status')
    let st = await runCli(['db', 'status', '--json'], { env: env(s) })
    expect(st.code).toBe(0)
    expect(st.json).toMatchObject({
      dialect: 'postgres',
      transactionalDdl: true,
      versions: null,
      current: null,
      upToDate: false,
      target: { revision: head, source: 'cli' },
    })
    expect(st.json.pending.length).toBe(ordered.length)
    expect(st.json.lock.redis).toMatchObject({ held: false })
    expect(st.json.lock.database).toBe(false)
    const up = await runCli(['upgrade-db', '--json'], { env: env(s) })
    expect(up.code).toBe(0)
    st = await runCli(['db', 'status'], { env: env(s) })
    expect(st.stdout).toContain('up to date')
    const h = await runCli(['db', 'history', '--json'], { env: env(s) })
    expect(h.json.current).toBe(head)
    expect(h.json.revisions.at(-1)).toMatchObject({ revision: head, head: true, current: true })
    // stamp: refuses without --yes (no TTY), --dry-run writes nothing, --yes writes alembic_version only
    const root = buildChain(REVISION_LIST).root.revision
    const before = await fingerprint(s.name)
    expect((await runCli(['db', 'stamp', root], { env: env(s) })).code).toBe(2)
    const dry = await runCli(['db', 'stamp', root, '--dry-run', '--json'], { env: env(s) })
    expect(dry.json).toMatchObject({ dryRun: true, from: [head], to: root })
    expect(await fingerprint(s.name)).toBe(before)
    const ok = await runCli(['db', 'stamp', root, '--yes', '--json'], { env: env(s) })
    expect(ok.code).toBe(0)
    expect(await versions(s.name)).toEqual([root])
    await runCli(['db', 'stamp', head, '--yes'], { env: env(s) })
    expect(await fingerprint(s.name)).toBe(before)
    // a no-op run
    const noop = await runCli(['upgrade-db', '--json'], { env: env(s) })
    expect(noop.json).toMatchObject({ status: 'up-to-date', applied: [] })
  }, 120_000)
})
