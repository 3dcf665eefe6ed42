import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import pg from 'pg'
import mysql from 'mysql2/promise'
import type { Db } from '../../../src/core/db.js'
import { upgradeDb, upgradeSql } from '../../../src/migrations/upgrade.js'
import { dbStatus } from '../../../src/migrations/status.js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MigrationFailedError, type RunEvent } from '../../../src/migrations/runner.js'
import {
  scratchDb,
  schemaFingerprint,
  synthRegistry,
  SYNTH_HEAD,
  tablesOf,
  versionsOf,
  type Engine,
  type ScratchDb,
} from '../../support/migrations.js'
import { MYSQL, PG } from '../../support/services.js'
import { REVISION_LIST } from '../../../src/migrations/registry.js'

/** Domain-level tests of the runner with a synthetic registry, on real PostgreSQL, real MariaDB and PGlite. */
describe.each<Engine>(['postgres', 'mysql', 'pglite'])('runner on %s', { timeout: 180_000 }, (engine) => {
  const scratches: ScratchDb[] = []
  const handles: Db[] = []
  let sharedPglite: { s: ScratchDb; db: Db } | undefined
  async function fresh(tag: string): Promise<{ s: ScratchDb; db: Db }> {
    if (engine === 'pglite') {
      // one embedded cluster for the file (creating one takes many seconds); each test starts from an empty schema
      if (sharedPglite) {
        await sql.raw('DROP SCHEMA public CASCADE').execute(sharedPglite.db.kysely)
        await sql.raw('CREATE SCHEMA public').execute(sharedPglite.db.kysely)
        return sharedPglite
      }
    }
    const s = await scratchDb(engine, tag)
    scratches.push(s)
    const db = await s.open()
    handles.push(db)
    if (engine === 'pglite') sharedPglite = { s, db }
    return { s, db }
  }
  const full = it
  const deps = (s: ScratchDb, db: Db, o: Parameters<typeof synthRegistry>[0] = {}) => ({
    db: async () => db,
    database: s.name,
    revisions: synthRegistry(o),
  })

  afterAll(async () => {
    for (const h of handles) await h.close().catch(() => {})
    for (const s of scratches) await s.drop().catch(() => {})
  })

  it('brings an empty database to the head, one revision at a time; a second run is a no-op', async () => {
    const { s, db } = await fresh('fresh')
    const events: RunEvent[] = []
    const r = await upgradeDb(deps(s, db), { autoDirs: [], onEvent: (e) => events.push(e) })
    expect(r.status).toBe('upgraded')
    expect(r.from).toBeNull()
    expect(r.applied.map((a) => a.revision)).toEqual(['d57accd375ae', '03ea244985ce', '7df29de0f6be', '905527cc8fd3'])
    expect(await versionsOf(db)).toEqual([SYNTH_HEAD])
    expect(await tablesOf(db)).toEqual(['accounts', 'apps', 'summaries'])
    expect(events.filter((e) => e.type === 'revision').length).toBe(4)
    if (engine !== 'mysql') {
      // the CONCURRENTLY index ran outside the transaction and is valid
      const idx = await sql<{
        ok: boolean
      }>`select i.indisvalid as ok from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = 'apps_tenant_idx'`.execute(
        db.kysely,
      )
      expect(idx.rows[0]?.ok).toBe(true)
    }
    const again = await upgradeDb(deps(s, db), { autoDirs: [] })
    expect(again).toMatchObject({ status: 'up-to-date', from: SYNTH_HEAD, applied: [] })
  })

  full('--to stops at the chosen revision; a later run continues from there', async () => {
    const { s, db } = await fresh('to')
    const r = await upgradeDb(deps(s, db), { autoDirs: [], to: '03ea' })
    expect(r.applied.map((a) => a.revision)).toEqual(['d57accd375ae', '03ea244985ce'])
    expect(await versionsOf(db)).toEqual(['03ea244985ce'])
    const r2 = await upgradeDb(deps(s, db), { autoDirs: [] })
    expect(r2.from).toBe('03ea244985ce')
    expect(r2.applied.map((a) => a.revision)).toEqual(['7df29de0f6be', '905527cc8fd3'])
  })

  it('a failing revision is reported by revision and statement; earlier revisions stay applied', async () => {
    const { s, db } = await fresh('fail')
    const err = await upgradeDb(deps(s, db, { failAt: '905527cc8fd3' }), { autoDirs: [] }).catch((e) => e)
    expect(err).toBeInstanceOf(MigrationFailedError)
    expect(err.exitCode).toBe(1)
    expect(err.message).toContain('905527cc8fd3')
    expect(err.message).toContain('ALTER TABLE no_such_table ADD COLUMN x INT')
    expect(err.details.applied).toEqual(['d57accd375ae', '03ea244985ce', '7df29de0f6be'])
    expect(await versionsOf(db)).toEqual(['7df29de0f6be'])
    if (engine === 'mysql') {
      // not transactional: the first statement of the failed revision stays, and the report says so
      expect(await tablesOf(db)).toContain('summaries')
      expect(err.details.appliedInRevision).toEqual([expect.stringContaining('CREATE TABLE summaries')])
      expect(err.hint).toContain('dify db stamp 905527cc8fd3')
    } else {
      // rolled back: only that revision
      expect(await tablesOf(db)).not.toContain('summaries')
      expect(err.hint).toContain('rolled back')
    }
  })

  it('a revision failing after another in the same transaction group: the group is re-run, the earlier one stays', async () => {
    // PostgreSQL groups d57accd375ae and 03ea244985ce into one transaction (runner.ts runGroup); the failure rolls
    // the group back and the re-run one revision at a time commits d57accd375ae and reports 03ea244985ce exactly
    const { s, db } = await fresh('failgroup')
    const events: RunEvent[] = []
    const err = await upgradeDb(deps(s, db, { failAt: '03ea244985ce' }), {
      autoDirs: [],
      onEvent: (e) => events.push(e),
    }).catch((e) => e)
    expect(err).toBeInstanceOf(MigrationFailedError)
    expect(err.message).toContain('03ea244985ce')
    expect(err.message).toContain('ALTER TABLE no_such_table ADD COLUMN x INT')
    expect(err.details.applied).toEqual(['d57accd375ae'])
    expect(await versionsOf(db)).toEqual(['d57accd375ae'])
    // each revision reported done once, only after its commit
    expect(events.filter((e) => e.type === 'revision-done').map((e) => (e as { revision: string }).revision)).toEqual([
      'd57accd375ae',
    ])
    const r = await upgradeDb(deps(s, db), { autoDirs: [] })
    expect(r.applied.map((a) => a.revision)).toEqual(['03ea244985ce', '7df29de0f6be', '905527cc8fd3'])
  })

  it('a failing baseline on PostgreSQL leaves the database empty', async () => {
    if (engine === 'mysql') return
    const { s, db } = await fresh('failbase')
    const err = await upgradeDb(deps(s, db, { failAt: 'd57accd375ae' }), { autoDirs: [] }).catch((e) => e)
    expect(err.exitCode).toBe(1)
    expect(await versionsOf(db)).toBeNull()
    expect(await tablesOf(db)).toEqual([])
  })

  full('a table lock held by another session times out the revision, naming the table', async () => {
    if (engine === 'pglite') return // one session: no other holder possible
    const { s, db } = await fresh('locked')
    await upgradeDb(deps(s, db), { autoDirs: [], to: 'd57accd375ae' })
    let release: () => Promise<void>
    if (engine === 'postgres') {
      const c = new pg.Client({ ...PG, database: s.name })
      await c.connect()
      await c.query('begin')
      await c.query('lock table apps in access exclusive mode')
      release = async () => {
        await c.query('rollback')
        await c.end()
      }
    } else {
      const c = await mysql.createConnection({ ...MYSQL, database: s.name })
      await c.query('start transaction')
      await c.query('select * from apps') // holds a metadata lock until commit
      release = async () => {
        await c.query('commit')
        await c.end()
      }
    }
    try {
      const t0 = Date.now()
      const err = await upgradeDb(deps(s, db), { autoDirs: [], lockTimeoutMs: 1000 }).catch((e) => e)
      expect(Date.now() - t0).toBeLessThan(15_000)
      expect(err).toBeInstanceOf(MigrationFailedError)
      expect(err.message).toContain('03ea244985ce')
      expect(err.message).toContain('table apps')
      expect(err.message).toContain('running Dify')
      expect(err.details.lockedTable).toBe('apps')
    } finally {
      await release()
    }
    expect(await versionsOf(db)).toEqual(['d57accd375ae'])
    const r = await upgradeDb(deps(s, db), { autoDirs: [] })
    expect(r.to).toBe(SYNTH_HEAD)
  })

  full(
    'refuses (exit 4) two alembic_version rows, an unknown revision, an older one, and a database ahead of --to',
    async () => {
      const { s, db } = await fresh('refuse')
      await upgradeDb(deps(s, db), { autoDirs: [], to: 'd57accd375ae' })
      const attempt = () => upgradeDb(deps(s, db), { autoDirs: [] }).catch((e) => e)
      const setVersions = async (...v: string[]) => {
        await sql`delete from alembic_version`.execute(db.kysely)
        for (const x of v) await sql`insert into alembic_version (version_num) values (${x})`.execute(db.kysely)
      }
      await setVersions('b69ca54b9208', '2a3aebbbf4bb')
      let e = await attempt()
      expect(e.exitCode).toBe(4)
      expect(e.message).toContain('2 rows')

      await setVersions('0123456789ab')
      e = await attempt()
      expect(e.exitCode).toBe(4)
      expect(e.message).toContain('0123456789ab')
      expect(e.message).toMatch(/unknown to this CLI/)

      await setVersions('b45e25c2d166')
      e = await attempt()
      expect(e.exitCode).toBe(4)
      expect(e.message).toContain('2.0.0-beta')

      await setVersions('09cfdda155d1')
      e = await attempt()
      expect(e.exitCode).toBe(4)
      expect(e.message).toContain('Dify 1.10.1')
      expect(e.hint).toContain('1.11.0')

      await setVersions('e8c3b3c46151')
      e = await attempt()
      expect(e.exitCode).toBe(4)
      expect(e.message).toContain('newer than anything this CLI knows')

      await setVersions('7df29de0f6be')
      e = await upgradeDb(deps(s, db), { autoDirs: [], to: '03ea244985ce' }).catch((x) => x)
      expect(e.exitCode).toBe(4)
      expect(e.message).toContain('ahead of the target')

      // Dify tables without alembic_version: refuse with the stamp hint
      await sql.raw('drop table alembic_version').execute(db.kysely)
      e = await attempt()
      expect(e.exitCode).toBe(4)
      expect(e.hint).toContain('dify db stamp')
      expect(await versionsOf(db)).toBeNull()
    },
  )

  full('an unknown --to is a usage error (exit 2) listing the nearest known revisions, before connecting', async () => {
    const e = await upgradeDb(
      { db: () => Promise.reject(new Error('must not connect')), database: 'x', revisions: synthRegistry() },
      { autoDirs: [], to: '03ea244985cf' },
    ).catch((x) => x)
    expect(e.exitCode).toBe(2)
    expect(e.hint).toContain('03ea244985ce')
    const p = await upgradeDb(
      { db: () => Promise.reject(new Error('must not connect')), database: 'x', revisions: synthRegistry() },
      { autoDirs: [], to: '7df2' },
    ).catch((x) => x)
    expect(p.message).toBe('must not connect') // a unique prefix is accepted
  })

  full(
    'status reports (never refuses): pending, lock state, and Dify code it cannot serve as the problem',
    async () => {
      const { s, db } = await fresh('status')
      await upgradeDb(deps(s, db), { autoDirs: [], to: '03ea244985ce' })
      const st = await dbStatus(deps(s, db), { autoDirs: [] })
      expect(st).toMatchObject({
        current: '03ea244985ce',
        upToDate: false,
        problem: null,
        lock: { database: engine === 'pglite' ? null : false },
      })
      expect(st.pending.map((p) => p.revision)).toEqual(['7df29de0f6be', '905527cc8fd3'])
      const dir = mkdtempSync(join(tmpdir(), 'dify-code-'))
      writeFileSync(join(dir, 'a.py'), "revision = 'e8c3b3c46151'\ndown_revision = None\n")
      const bad = await dbStatus(deps(s, db), { difyRoot: dir })
      expect(bad.problem?.message).toContain('e8c3b3c46151')
      expect(bad.target.source).toBe('cli')
    },
  )

  full('dry-run and --sql change nothing', async () => {
    const { s, db } = await fresh('dry')
    await upgradeDb(deps(s, db), { autoDirs: [], to: '03ea244985ce' })
    const before = await schemaFingerprint(db)
    const r = await upgradeDb(deps(s, db), { autoDirs: [], dryRun: true })
    expect(r.status).toBe('dry-run')
    expect(r.pending.map((p) => p.revision)).toEqual(['7df29de0f6be', '905527cc8fd3'])
    const q = await upgradeSql(deps(s, db), { autoDirs: [], dialect: db.dialect })
    expect(q.from).toBe('03ea244985ce')
    expect(q.sql).toContain(
      "UPDATE alembic_version SET version_num='905527cc8fd3' WHERE alembic_version.version_num = '7df29de0f6be';",
    )
    expect(q.sql).not.toContain('CREATE TABLE alembic_version')
    expect(await schemaFingerprint(db)).toBe(before)
  })
})

describe.skipIf(REVISION_LIST.length === 0)('runner with the real registry on PGlite', () => {
  it('fresh → head', async () => {
    const s = await scratchDb('pglite', 'real')
    const db = await s.open()
    try {
      const r = await upgradeDb({ db: async () => db, database: 'pglite' }, { autoDirs: [] })
      // the baseline, then the steps after its revision
      expect(r.applied.length).toBe(
        REVISION_LIST.length - REVISION_LIST.findIndex((x) => x.revision === 'd57accd375ae'),
      )
      expect(r.applied[0]!.revision).toBe('d57accd375ae')
      expect(await versionsOf(db)).toEqual([REVISION_LIST.at(-1)!.revision])
      expect((await tablesOf(db)).length).toBeGreaterThan(100)
    } finally {
      await db.close()
      await s.drop()
    }
  }, 240_000)
})

describe('--sql offline (--from, no connection)', () => {
  const noDb = { db: () => Promise.reject(new Error('must not connect')), revisions: synthRegistry() }
  it('from base on PostgreSQL: Alembic layout with the version table, CONCURRENTLY outside a transaction', async () => {
    const q = await upgradeSql(noDb, { autoDirs: [], from: 'base', dialect: 'postgres' })
    const lines = q.sql.split('\n')
    expect(lines).toContain(
      'CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));',
    )
    expect(lines).toContain("INSERT INTO alembic_version (version_num) VALUES ('d57accd375ae');")
    const i = lines.indexOf('CREATE INDEX CONCURRENTLY apps_tenant_idx ON apps (tenant_id);')
    expect(lines[i - 1]).toBe('COMMIT;')
    expect(lines[i + 1]).toBe('BEGIN;')
  })
  it('from a revision on MySQL', async () => {
    const q = await upgradeSql(noDb, { autoDirs: [], from: '03ea244985ce', to: '7df29de0f6be', dialect: 'mysql' })
    expect(q.pending.map((p) => p.revision)).toEqual(['7df29de0f6be'])
    expect(q.sql).toContain('CREATE INDEX apps_tenant_idx ON apps (tenant_id);')
    expect(q.sql).not.toContain('BEGIN')
  })
})
