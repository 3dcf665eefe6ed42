import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import type { Db } from '../../../src/core/db.js'
import { scratchMysql, scratchPg, type Scratch } from '../../support/scratch.js'
import { createDifySchema, openScratchDb } from '../../support/dify-schema.js'
import { upgradeDb } from '../../../src/migrations/upgrade.js'
import { dbStatus } from '../../../src/migrations/status.js'
import { BACKUP_TABLE } from '../../../src/migrations/revisions/f55813ffe2c8.js'
import { NEW_INDEX } from '../../../src/migrations/revisions/6b5f9f8b1a2c.js'
import type { SqlDialect } from '../../../src/migrations/types.js'

/**
 * The revisions of 1.13.0 – 1.15.0 that touch rows or can fail on data, run by the real runner (upgradeDb) on
 * seeded rows: what Dify's migration does, row for row, plus what dify-ops adds (backup of removed rows, previews,
 * INVALID-index cleanup, reruns).
 */
const scratches: Scratch[] = []
const handles: Db[] = []
afterAll(async () => {
  for (const h of handles) await h.close().catch(() => {})
  for (const s of scratches) await s.drop().catch(() => {})
})
async function at(dialect: SqlDialect, tag: string, revision: string): Promise<{ s: Scratch; db: Db }> {
  const s = dialect === 'postgres' ? await scratchPg(tag) : await scratchMysql(tag)
  scratches.push(s)
  const db = await openScratchDb(s.env)
  handles.push(db)
  await createDifySchema(db, revision)
  return { s, db }
}
const run = (db: Db, text: string) => sql.raw(text).execute(db.kysely)
const rows = async (db: Db, text: string) => (await sql.raw(text).execute(db.kysely)).rows as Record<string, any>[]
const deps = (s: Scratch, db: Db) => ({ db: async () => db, database: s.name })
const version = async (db: Db) => (await rows(db, 'SELECT version_num FROM alembic_version'))[0]!.version_num
const T1 = '10000000-0000-4000-8000-000000000001'
const T2 = '10000000-0000-4000-8000-000000000002'
const id = (n: number) => `d0000000-0000-4000-8000-${String(n).padStart(12, '0')}`

describe.each(['postgres', 'mysql'] as const)('data steps on %s', { timeout: 240_000 }, (dialect) => {
  it("f55813ffe2c8: Dify's rows are kept, the removed duplicates are in the backup table, and the plan shows them per tenant", async () => {
    const { s, db } = await at(dialect, 'tdm', 'c3df22613c99')
    const seed: [string, string, string, string][] = [
      // id, tenant, model_type, updated_at
      [id(1), T1, 'llm', '2024-01-01 00:00:00'], // outranked by a later updated_at
      [id(2), T1, 'llm', '2024-02-01 00:00:00'], // same updated_at as id(3), smaller id
      [id(3), T1, 'llm', '2024-02-01 00:00:00'], // kept: latest updated_at, largest id
      [id(4), T1, 'text-embedding', '2023-01-01 00:00:00'], // alone: kept
      [id(5), T2, 'llm', '2024-03-01 00:00:00'], // kept: latest
      [id(6), T2, 'llm', '2024-01-01 00:00:00'],
    ]
    for (const [i, t, m, u] of seed) {
      await run(
        db,
        `INSERT INTO tenant_default_models (id, tenant_id, provider_name, model_name, model_type, created_at, updated_at) VALUES ('${i}', '${t}', 'openai', 'm-${i.slice(-1)}', '${m}', '2023-01-01 00:00:00', '${u}')`,
      )
    }
    const st = await dbStatus(deps(s, db), { autoDirs: [] })
    const p = st.pending.find((x) => x.revision === 'f55813ffe2c8')!
    expect(p.preview!.rows).toEqual([
      { tenant_id: T1, rows_removed: 2 },
      { tenant_id: T2, rows_removed: 1 },
    ])
    expect(p.tables!.find((t) => t.table === 'tenant_default_models')).toMatchObject({
      lock: dialect === 'postgres' ? 'ACCESS EXCLUSIVE' : 'metadata lock (online DDL)',
    })
    // the same declaration (Revision.dataEffects) is counted with the other data effects
    expect(st.dataEffects.find((e) => e.revision === 'f55813ffe2c8')).toMatchObject({
      table: 'tenant_default_models',
      rows: 3,
      backupTable: BACKUP_TABLE,
    })
    const dry = await upgradeDb(deps(s, db), { autoDirs: [], dryRun: true })
    expect(dry.pending.find((x) => x.revision === 'f55813ffe2c8')!.preview!.rows).toHaveLength(2)
    expect(dry.dataEffects!.find((e) => e.revision === 'f55813ffe2c8')!.rows).toBe(3)
    expect(await version(db)).toBe('c3df22613c99') // the dry run wrote nothing
    expect(
      await rows(
        db,
        `SELECT 1 FROM information_schema.tables WHERE table_name = '${BACKUP_TABLE}' AND table_schema = ${dialect === 'postgres' ? 'current_schema()' : 'database()'}`,
      ),
    ).toEqual([])

    await upgradeDb(deps(s, db), { autoDirs: [], to: 'f55813ffe2c8' })
    expect((await rows(db, 'SELECT id FROM tenant_default_models ORDER BY id')).map((r) => r.id)).toEqual([
      id(3),
      id(4),
      id(5),
    ])
    const backup = await rows(
      db,
      `SELECT id, tenant_id, provider_name, model_name, model_type, removed_by_revision, removed_at FROM ${BACKUP_TABLE} ORDER BY id`,
    )
    expect(backup.map((r) => [r.id, r.tenant_id, r.model_type, r.model_name, r.removed_by_revision])).toEqual([
      [id(1), T1, 'llm', 'm-1', 'f55813ffe2c8'],
      [id(2), T1, 'llm', 'm-2', 'f55813ffe2c8'],
      [id(6), T2, 'llm', 'm-6', 'f55813ffe2c8'],
    ])
    expect(backup.every((r) => r.removed_at)).toBe(true)
  })

  it('6b5f9f8b1a2c: duplicates block the unique index — no INVALID index remains, the rows are named, a rerun after dedup finishes', async () => {
    const { s, db } = await at(dialect, 'wdv', '0ec65df55790')
    // the state a partial earlier run leaves when the old key is gone: user_id there, rows duplicated on the new key
    await run(
      db,
      dialect === 'postgres'
        ? 'ALTER TABLE workflow_draft_variables ADD COLUMN user_id uuid'
        : 'ALTER TABLE workflow_draft_variables ADD COLUMN user_id char(36)',
    )
    await run(
      db,
      dialect === 'postgres'
        ? 'ALTER TABLE workflow_draft_variables DROP CONSTRAINT workflow_draft_variables_app_id_key'
        : 'ALTER TABLE workflow_draft_variables DROP INDEX workflow_draft_variables_app_id_key',
    )
    const APP = '20000000-0000-4000-8000-000000000001'
    const U = '30000000-0000-4000-8000-000000000001'
    for (const [i, user] of [
      [id(11), U],
      [id(12), U],
      [id(13), null],
      [id(14), null],
    ] as const) {
      await run(
        db,
        `INSERT INTO workflow_draft_variables (id, app_id, node_id, name, description, selector, value_type, value, visible, editable, user_id)
        VALUES ('${i}', '${APP}', 'node', 'var', '', '[]', 'string', 'v', true, true, ${user ? `'${user}'` : 'NULL'})`,
      )
    }
    const e = await upgradeDb(deps(s, db), { autoDirs: [] }).catch((x) => x)
    expect(e.exitCode).toBe(1)
    expect(e.message).toContain(NEW_INDEX)
    expect(e.message).toContain(id(11))
    expect(e.message).toContain(id(12))
    expect(e.message).not.toContain(id(13)) // NULL user_ids never collide
    expect(e.hint).toMatch(/run dify upgrade-db again/)
    expect(e.details.duplicates).toEqual([
      { key: { app_id: APP, user_id: U, node_id: 'node', name: 'var' }, ids: [id(11), id(12)] },
    ])
    expect(await version(db)).toBe('0ec65df55790')
    if (dialect === 'postgres') {
      expect(e.details.invalidIndexDropped).toBe(true)
      expect(await rows(db, `SELECT 1 FROM pg_class WHERE relname = '${NEW_INDEX}'`)).toEqual([])
    }
    await run(db, `DELETE FROM workflow_draft_variables WHERE id = '${id(12)}'`)
    const ok = await upgradeDb(deps(s, db), { autoDirs: [], to: '6b5f9f8b1a2c' })
    expect(ok.status).toBe('upgraded')
    expect(await version(db)).toBe('6b5f9f8b1a2c')
    if (dialect === 'postgres') {
      expect(
        (
          await rows(
            db,
            `SELECT i.indisvalid AS v FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = '${NEW_INDEX}'`,
          )
        )[0]!.v,
      ).toBe(true)
    }
  })

  it('1.15.0 data steps: maintainers, end-user types and skills_files are rewritten as Dify does; an existing last_opened_at is kept', async () => {
    const { s, db } = await at(dialect, 'd115', '9f4b7c2d1a80')
    // b7c2d9e8a1f4 skips its ALTER when the column is already there
    await run(
      db,
      `ALTER TABLE tenant_account_joins ADD COLUMN last_opened_at ${dialect === 'postgres' ? 'timestamp' : 'datetime'}`,
    )
    const A = '40000000-0000-4000-8000-000000000001'
    const B = '40000000-0000-4000-8000-000000000002'
    await run(
      db,
      `INSERT INTO apps (id, tenant_id, name, description, mode, enable_site, enable_api, created_by) VALUES ('${id(21)}', '${T1}', 'a', '', 'chat', true, true, '${A}'), ('${id(22)}', '${T1}', 'b', '', 'chat', true, true, NULL)`,
    )
    await run(
      db,
      `INSERT INTO datasets (id, tenant_id, name, description, created_by) VALUES ('${id(23)}', '${T1}', 'd', '', '${B}')`,
    )
    await run(
      db,
      `INSERT INTO end_users (id, tenant_id, type, session_id) VALUES ('${id(31)}', '${T1}', 'service_api', 's1'), ('${id(32)}', '${T1}', 'browser', 's2'), ('${id(33)}', '${T1}', 'service-api', 's3'), ('${id(34)}', '${T1}', 'Service_API', 's4')`,
    )
    const snapshots: [string, string][] = [
      [id(41), '{"skills_files": [1], "b": {"z": 1, "a": 2.0}, "a": "é😀", "n": 1e16, "m": 0.00001}'],
      [id(42), '{"b": 1, "a": 2}'], // no skills_files: untouched (not re-serialised)
      [id(43), '[1, {"skills_files": 1}]'], // not an object: untouched
    ]
    for (const [i, text] of snapshots) {
      await run(
        db,
        `INSERT INTO agent_config_snapshots (id, tenant_id, agent_id, version, config_snapshot) VALUES ('${i}', '${T1}', '${A}', ${i.slice(-2)}, '${text.replace(/'/g, "''")}')`,
      )
    }
    await run(db, dialect === 'postgres' ? 'ANALYZE end_users' : 'ANALYZE TABLE end_users')
    const st = await dbStatus(deps(s, db), { autoDirs: [] })
    const a7 = st.pending.find((x) => x.revision === 'a7c4e9d2f681')!
    expect(a7.tables!.map((t) => t.table).sort()).toEqual(['apps', 'datasets'])
    expect(a7.tables!.find((t) => t.table === 'apps')!.operations).toEqual(['ADD COLUMN', 'CREATE INDEX', 'UPDATE'])
    expect(st.pending.find((x) => x.revision === '4f7b2c8d9a10')!.tables).toEqual([
      {
        table: 'end_users',
        estimatedRows: dialect === 'postgres' ? 4 : expect.any(Number),
        lock: dialect === 'postgres' ? 'ROW EXCLUSIVE' : 'row locks',
        operations: ['UPDATE'],
      },
    ])
    const r = await upgradeDb(deps(s, db), { autoDirs: [] })
    expect(r.to).toBe('d9e8f7a6b5c4')
    expect((await rows(db, 'SELECT id, maintainer FROM apps ORDER BY id')).map((x) => [x.id, x.maintainer])).toEqual([
      [id(21), A],
      [id(22), null],
    ])
    expect((await rows(db, 'SELECT maintainer FROM datasets'))[0]!.maintainer).toBe(B)
    expect((await rows(db, 'SELECT id, type FROM end_users ORDER BY id')).map((x) => x.type)).toEqual([
      'service-api',
      'browser',
      'service-api',
      dialect === 'postgres' ? 'Service_API' : 'service-api',
    ])
    const snap = await rows(db, 'SELECT id, config_snapshot FROM agent_config_snapshots ORDER BY id')
    // Python: json.dumps(json.loads(text) minus "skills_files", separators=(",", ":"), sort_keys=True)
    expect(snap.map((x) => x.config_snapshot)).toEqual([
      '{"a":"\\u00e9\\ud83d\\ude00","b":{"a":2.0,"z":1},"m":1e-05,"n":1e+16}',
      snapshots[1]![1],
      snapshots[2]![1],
    ])
  })
})
