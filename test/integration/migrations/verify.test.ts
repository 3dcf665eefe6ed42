/**
 * Schema verification (src/migrations/schema/verify.ts) and half-applied upgrades: db status names each difference
 * with its revision, suggests only safe fixes; upgrade-db refuses with the exact fix, and finishes once it is done.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { verifySchema } from '../../../src/migrations/schema/verify.js'
import { dbStatus } from '../../../src/migrations/status.js'
import { upgradeDb } from '../../../src/migrations/upgrade.js'
import { REVISION_LIST } from '../../../src/migrations/registry.js'
import { compareVersions } from '../../../src/dify/releases.js'
import { createDifySchema, openScratchDb } from '../../support/dify-schema.js'
import { ORACLE_RELEASES, loadRelease } from '../../support/oracles.js'
import { scratchMysql, scratchPg, type Scratch } from '../../support/scratch.js'
import type { Db } from '../../../src/core/db.js'
import { scratchDb } from '../../support/migrations.js'
import type { SqlDialect } from '../../../src/migrations/types.js'

const scratches: Scratch[] = []
afterAll(async () => {
  for (const s of scratches) await s.drop().catch(() => {})
})

async function release(dialect: SqlDialect, rel: string): Promise<{ s: Scratch; db: Db }> {
  const s = dialect === 'postgres' ? await scratchPg(`vf${rel}`) : await scratchMysql(`vf${rel}`)
  scratches.push(s)
  await loadRelease(s, dialect, rel)
  return { s, db: await openScratchDb(s.env) }
}
const exec = async (db: Db, text: string) => sql.raw(text).execute(db.kysely)
const stepOf = (rev: string) => REVISION_LIST.find((r) => r.revision === rev)!

// Dify's own MySQL files of 1.11.3–1.12.1 do not load (oracles README); 1.13+ is beyond this CLI's head for now
const upTo = (r: string) => compareVersions(r, '1.0.0') >= 0 && compareVersions(r, '1.12.1') <= 0
const clean: [SqlDialect, string][] = [
  ...ORACLE_RELEASES.filter((r) => upTo(r.release) && r.dialects.includes('postgres')).map(
    (r) => ['postgres', r.release] as [SqlDialect, string],
  ),
  ...ORACLE_RELEASES.filter(
    (r) => upTo(r.release) && r.dialects.includes('mysql') && compareVersions(r.release, '1.11.2') <= 0,
  ).map((r) => ['mysql', r.release] as [SqlDialect, string]),
]

describe('every release database is clean at its own revision', () => {
  it.each(clean)('%s %s', async (dialect, rel) => {
    const { s, db } = await release(dialect, rel)
    try {
      const v = await verifySchema(db)
      expect(v.known).toBe(true)
      expect(v.differences.map((d) => d.message)).toEqual([])
      expect(v.suggestion.kind).toBe('none')
    } finally {
      await db.close()
      await s.drop()
    }
  })
  it('a fresh database built from the baseline is clean at the head (PG and MySQL)', async () => {
    for (const dialect of ['postgres', 'mysql'] as const) {
      const s = dialect === 'postgres' ? await scratchPg('vfbase') : await scratchMysql('vfbase')
      scratches.push(s)
      const db = await openScratchDb(s.env)
      try {
        await createDifySchema(db)
        expect((await verifySchema(db)).differences.map((d) => d.message)).toEqual([])
      } finally {
        await db.close()
      }
    }
  })
})

describe('PGlite (PostgreSQL 18: native uuidv7)', () => {
  it('a fresh embedded database at the head is clean; db status reports it so', async () => {
    const s = await scratchDb('pglite', 'verify')
    const db = await s.open()
    try {
      await upgradeDb({ db: async () => db, database: 'pglite' }, { autoDirs: [] })
      expect((await verifySchema(db)).differences.map((d) => d.message)).toEqual([])
      const st = await dbStatus({ db: async () => db, database: 'pglite' }, { autoDirs: [] })
      expect(st.schema).toMatchObject({ checked: true, differences: [] })
    } finally {
      await db.close()
      await s.drop()
    }
  })
})

describe('half-applied upgrades', () => {
  it('1.6.0 + the first table of the upgrade created, alembic_version not moved: named, fixed exactly, then finished', async () => {
    const { s, db } = await release('postgres', '1.6.0')
    try {
      // the first statement of 71f5020c6470 (the first table the upgrade from 1.6.0 creates), as a crashed run leaves it
      await exec(db, stepOf('71f5020c6470').statements('postgres')[0]!.sql)
      const st = await dbStatus({ db: async () => db, database: s.name }, { autoDirs: [] })
      expect(st.current).toBe('58eb7bdb93fe')
      expect(st.schema.differences).toHaveLength(1)
      expect(st.schema.differences[0]).toMatchObject({
        kind: 'extra',
        object: 'table',
        name: 'tool_oauth_system_clients',
        revision: '71f5020c6470',
        action: 'creates',
        pending: true,
      })
      expect(st.schema.suggestion.kind).toBe('drop-and-rerun')
      expect(st.schema.suggestion.steps).toEqual(['DROP TABLE tool_oauth_system_clients;', 'dify upgrade-db'])
      // upgrade-db refuses (exit 4) with that exact fix, and changes nothing
      let err: any
      try {
        await upgradeDb({ db: async () => db, database: s.name }, { to: '788d3099ae3a', autoDirs: [] })
      } catch (e) {
        err = e
      }
      expect(err?.exitCode).toBe(4)
      expect(err.message).toContain('tool_oauth_system_clients')
      expect(err.hint).toContain('DROP TABLE tool_oauth_system_clients;')
      expect((await exec(db, 'select version_num from alembic_version')).rows).toEqual([
        { version_num: '58eb7bdb93fe' },
      ])
      // follow the fix: the upgrade finishes and the schema is clean
      await exec(db, 'DROP TABLE tool_oauth_system_clients')
      const r = await upgradeDb({ db: async () => db, database: s.name }, { to: '788d3099ae3a', autoDirs: [] })
      expect(r.status).toBe('upgraded')
      expect((await verifySchema(db)).differences).toEqual([])
    } finally {
      await db.close()
    }
  })

  it('alembic_version one revision behind the schema: the suggestion is db stamp to the right revision', async () => {
    const { s, db } = await release('postgres', '1.6.0')
    try {
      for (const st of stepOf('1c9ba48be8e4').statements('postgres')) await exec(db, st.sql)
      const v = await verifySchema(db)
      expect(v.revision).toBe('58eb7bdb93fe')
      expect(v.matches).toBe('1c9ba48be8e4')
      expect(v.differences.every((d) => d.revision === '1c9ba48be8e4' && d.pending)).toBe(true)
      expect(v.suggestion).toMatchObject({ kind: 'stamp', steps: ['dify db stamp 1c9ba48be8e4', 'dify upgrade-db'] })
      let err: any
      try {
        await upgradeDb({ db: async () => db, database: s.name }, { to: '788d3099ae3a', autoDirs: [] })
      } catch (e) {
        err = e
      }
      expect(err?.exitCode).toBe(4)
      expect(err.hint).toContain('dify db stamp 1c9ba48be8e4')
    } finally {
      await db.close()
      await s.drop()
    }
  })

  it('one index dropped, one column added, one INVALID index: exactly those three, each with its revision', async () => {
    const { s, db } = await release('postgres', '1.10.1')
    try {
      await exec(db, 'DROP INDEX workflow_app_log_workflow_run_id_idx')
      await exec(db, 'ALTER TABLE accounts ADD COLUMN dify_ops_test_extra integer')
      await exec(db, 'DROP INDEX rate_limit_log_tenant_idx')
      await exec(
        db,
        "INSERT INTO rate_limit_logs (tenant_id, subscription_plan, operation) VALUES (gen_random_uuid(), 'sandbox', 'knowledge')",
      )
      // a CREATE INDEX CONCURRENTLY that fails while building leaves an INVALID index behind
      await expect(
        exec(db, 'CREATE INDEX CONCURRENTLY rate_limit_log_tenant_idx ON rate_limit_logs ((length(operation) / 0))'),
      ).rejects.toThrow()
      const v = await verifySchema(db)
      const got = v.differences.map((d) => [d.kind, d.object, d.table, d.name, d.revision])
      expect(got).toEqual(
        expect.arrayContaining([
          ['missing', 'index', 'workflow_app_logs', 'workflow_app_log_workflow_run_id_idx', 'b95962a3885c'],
          ['extra', 'column', 'accounts', 'dify_ops_test_extra', null],
          ['invalid-index', 'index', 'rate_limit_logs', 'rate_limit_log_tenant_idx', 'f051706725cc'],
        ]),
      )
      expect(got).toHaveLength(3)
      expect(v.suggestion.kind).toBe('manual')
    } finally {
      await db.close()
      await s.drop()
    }
  })
})
