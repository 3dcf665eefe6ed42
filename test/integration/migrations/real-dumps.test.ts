/**
 * The real deployment dumps (Dify 1.1.x and 1.6.0, PostgreSQL) upgraded to the CLI head: the data is still there
 * (row counts per table before and after), Dify's data steps did what Dify's do (providers' and provider models'
 * encrypted_config moved into the credential tables), what Dify drops is kept in dify_ops_backup_*, and the schema is
 * exactly the one expected at the head.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { upgradeDb } from '../../../src/migrations/upgrade.js'
import { verifySchema } from '../../../src/migrations/schema/verify.js'
import { openScratchDb } from '../../support/dify-schema.js'
import { REAL_DUMPS, loadRealDump } from '../../support/oracles.js'
import { scratchPg, type Scratch } from '../../support/scratch.js'
import type { Db } from '../../../src/core/db.js'

const TARGET = 'd9e8f7a6b5c4' // the CLI's head, Dify 1.15.0
const scratches: Scratch[] = []
afterAll(async () => {
  for (const s of scratches) await s.drop().catch(() => {})
})

const q = async <T = Record<string, unknown>>(db: Db, text: string) => (await sql.raw<T>(text).execute(db.kysely)).rows
async function counts(db: Db): Promise<Record<string, number>> {
  const tables = await q<{ t: string }>(
    db,
    "select table_name as t from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1",
  )
  const out: Record<string, number> = {}
  for (const { t } of tables) out[t] = Number((await q<{ n: string }>(db, `select count(*) as n from "${t}"`))[0]!.n)
  return out
}
const NOT_BLANK = "encrypted_config is not null and btrim(encrypted_config, E' \\t\\n\\r\\f\\v') <> ''"

// the dumps from before 1.8.0 (the credential moves this test seeds need providers.encrypted_config)
describe.each(Object.keys(REAL_DUMPS).filter((n) => n !== 'dify-1.14.0'))('real dump %s → head', (name) => {
  it('keeps every row, moves the credentials as Dify does, backs up what Dify drops, ends clean', async () => {
    const s = await scratchPg(`dump${name}`)
    scratches.push(s)
    await loadRealDump(s, name)
    const db = await openScratchDb(s.env)
    try {
      expect((await q<{ version_num: string }>(db, 'select version_num from alembic_version'))[0]!.version_num).toBe(
        REAL_DUMPS[name]!.head,
      )
      const before = await counts(db)
      expect(Object.values(before).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
      const providers = Number(
        (await q<{ n: string }>(db, `select count(*) as n from providers where ${NOT_BLANK}`))[0]!.n,
      )
      const models = Number(
        (await q<{ n: string }>(db, `select count(*) as n from provider_models where ${NOT_BLANK}`))[0]!.n,
      )
      const hasSeq = name === 'dify-1.1.x' // 0ab65e1cc7fa (1.5.0) dropped the column: only the older dump has it
      const seqRuns = hasSeq
        ? Number(
            (
              await q<{ n: string }>(db, 'select count(*) as n from workflow_runs where sequence_number is not null')
            )[0]!.n,
          )
        : 0
      const configs = await q<{ id: string; encrypted_config: string }>(
        db,
        `select id, encrypted_config from providers where ${NOT_BLANK} order by id`,
      )

      const r = await upgradeDb({ db: async () => db, database: s.name }, { to: TARGET, autoDirs: [] })
      expect(r.status).toBe('upgraded')
      const after = await counts(db)
      for (const [t, n] of Object.entries(before)) expect(after[t], t).toBe(n)
      // Dify's data steps (e8446f481c1e, 0e154742a5fa): one credential row per non-blank config, linked back
      expect(after.provider_credentials).toBe(providers)
      expect(after.provider_model_credentials).toBe(models)
      const moved = await q<{ id: string; encrypted_config: string; credential_name: string }>(
        db,
        'select p.id, c.encrypted_config, c.credential_name from providers p join provider_credentials c on c.id = p.credential_id order by p.id',
      )
      expect(moved.map((m) => [m.id, m.encrypted_config])).toEqual(configs.map((c) => [c.id, c.encrypted_config]))
      expect(new Set(moved.map((m) => m.credential_name))).toEqual(new Set(providers ? ['API_KEY1'] : []))
      // what Dify drops is kept (0ab65e1cc7fa only applies when the dump predates it)
      if (hasSeq) expect(after.dify_ops_backup_0ab65e1cc7fa_workflow_runs).toBe(seqRuns)
      expect(after.dify_ops_backup_669ffd70119c_providers).toBeDefined()
      expect((await verifySchema(db)).differences.map((d) => d.message)).toEqual([])
    } finally {
      await db.close()
      await s.drop()
    }
  })
})
