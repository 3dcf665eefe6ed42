/**
 * Dify's data steps, row for row, on PostgreSQL: e8446f481c1e / 0e154742a5fa move every non-blank encrypted_config
 * into a credential row ('API_KEY1', same tenant/provider/model/timestamps) and link it back; NULL and blank configs
 * get nothing (Python's strip()). 0ab65e1cc7fa / 669ffd70119c drop columns whose values we keep in dify_ops_backup_*.
 * `db status` counts them before they run.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { upgradeDb } from '../../../src/migrations/upgrade.js'
import { dbStatus } from '../../../src/migrations/status.js'
import { openScratchDb } from '../../support/dify-schema.js'
import { loadRelease } from '../../support/oracles.js'
import { scratchPg, type Scratch } from '../../support/scratch.js'
import type { Db } from '../../../src/core/db.js'

const scratches: Scratch[] = []
afterAll(async () => {
  for (const s of scratches) await s.drop().catch(() => {})
})
const q = async <T = any>(db: Db, text: string) => (await sql.raw<T>(text).execute(db.kysely)).rows

describe('data steps', () => {
  it('providers / provider_models credentials (1.7.2 → 1.8.0)', async () => {
    const s = await scratchPg('datacred')
    scratches.push(s)
    await loadRelease(s, 'postgres', '1.7.2')
    const db = await openScratchDb(s.env)
    try {
      const t = '6f0c1b5e-0000-4000-8000-000000000001'
      await q(
        db,
        `insert into providers (id, tenant_id, provider_name, encrypted_config, created_at, updated_at) values
        ('00000000-0000-4000-8000-00000000000a', '${t}', 'openai', '{"openai_api_key":"HYBRID:abc"}', '2025-01-02 03:04:05', '2025-02-03 04:05:06'),
        ('00000000-0000-4000-8000-00000000000b', '${t}', 'anthropic', E' \\t\\n ', now(), now()),
        ('00000000-0000-4000-8000-00000000000c', '${t}', 'cohere', null, now(), now())`,
      )
      await q(
        db,
        `insert into provider_models (id, tenant_id, provider_name, model_name, model_type, encrypted_config, created_at, updated_at) values
        ('00000000-0000-4000-8000-00000000001a', '${t}', 'openai', 'gpt-4o', 'llm', '{"k":"v"}', '2025-01-02 03:04:05', '2025-01-02 03:04:05'),
        ('00000000-0000-4000-8000-00000000001b', '${t}', 'openai', 'gpt-4', 'llm', '', now(), now())`,
      )
      const st = await dbStatus({ db: async () => db, database: s.name }, { to: '0e154742a5fa', autoDirs: [] })
      const eff = st.dataEffects.filter((e) => e.revision === 'e8446f481c1e')
      expect(eff.map((e) => e.rows)).toEqual([1, 1]) // one moved, one blank dropped
      await upgradeDb({ db: async () => db, database: s.name }, { to: '0e154742a5fa', autoDirs: [] })
      const creds = await q(
        db,
        'select c.*, p.id as pid from provider_credentials c join providers p on p.credential_id = c.id',
      )
      expect(creds).toHaveLength(1)
      expect(creds[0]).toMatchObject({
        pid: '00000000-0000-4000-8000-00000000000a',
        tenant_id: t,
        provider_name: 'openai',
        credential_name: 'API_KEY1',
        encrypted_config: '{"openai_api_key":"HYBRID:abc"}',
      })
      expect(new Date(creds[0].created_at).toISOString()).toBe('2025-01-02T03:04:05.000Z')
      expect(new Date(creds[0].updated_at).toISOString()).toBe('2025-02-03T04:05:06.000Z')
      expect(creds[0].id.slice(14, 15)).toBe('7') // a uuidv7, as Dify's uuidv7()
      expect(await q(db, 'select count(*)::int as n from providers where credential_id is null')).toEqual([{ n: 2 }])
      const mc = await q(
        db,
        'select c.*, m.id as mid from provider_model_credentials c join provider_models m on m.credential_id = c.id',
      )
      expect(mc).toHaveLength(1)
      expect(mc[0]).toMatchObject({
        mid: '00000000-0000-4000-8000-00000000001a',
        model_name: 'gpt-4o',
        model_type: 'llm',
        credential_name: 'API_KEY1',
        encrypted_config: '{"k":"v"}',
      })
      expect(
        await q(
          db,
          "select count(*)::int as n from information_schema.columns where table_name in ('providers','provider_models') and column_name = 'encrypted_config'",
        ),
      ).toEqual([{ n: 0 }])
    } finally {
      await db.close()
    }
  })

  it('dropped columns are kept: workflow_runs.sequence_number (1.4.3 → 1.5.0), providers.credential_status (1.9.2 → 1.10.0)', async () => {
    const s = await scratchPg('databak')
    scratches.push(s)
    await loadRelease(s, 'postgres', '1.4.3')
    const db = await openScratchDb(s.env)
    try {
      const u = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
      await q(
        db,
        `insert into workflow_runs (id, tenant_id, app_id, sequence_number, workflow_id, type, triggered_from, version, graph, inputs, status, created_by_role, created_by)
        values ('${u(1)}', '${u(9)}', '${u(8)}', 7, '${u(7)}', 'workflow', 'debugging', 'draft', '{}', '{}', 'succeeded', 'account', '${u(6)}')`,
      )
      const st = await dbStatus({ db: async () => db, database: s.name }, { to: '0ab65e1cc7fa', autoDirs: [] })
      expect(st.dataEffects).toEqual([
        expect.objectContaining({
          revision: '0ab65e1cc7fa',
          rows: 1,
          backupTable: 'dify_ops_backup_0ab65e1cc7fa_workflow_runs',
        }),
      ])
      await upgradeDb({ db: async () => db, database: s.name }, { to: 'cf7c38a32b2d', autoDirs: [] })
      expect(await q(db, 'select id, sequence_number from dify_ops_backup_0ab65e1cc7fa_workflow_runs')).toEqual([
        { id: u(1), sequence_number: 7 },
      ])
      await q(
        db,
        `insert into providers (id, tenant_id, provider_name, credential_status) values ('${u(2)}', '${u(9)}', 'openai', 'removed')`,
      )
      await upgradeDb({ db: async () => db, database: s.name }, { to: '669ffd70119c', autoDirs: [] })
      expect(await q(db, 'select id, credential_status from dify_ops_backup_669ffd70119c_providers')).toEqual([
        { id: u(2), credential_status: 'removed' },
      ])
    } finally {
      await db.close()
    }
  })
})
