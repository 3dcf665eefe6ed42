/**
 * upgrade-db's pre-flight runs beside the locks and the first transaction (src/migrations/upgrade.ts): nothing may
 * commit before its verdict. A refusal that comes while the first transaction's statements already ran rolls them
 * back; a pre-flight that meets a lock is judged again, alone, and the run then goes on.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import pg from 'pg'
import { upgradeDb } from '../../../src/migrations/upgrade.js'
import type { RunEvent } from '../../../src/migrations/runner.js'
import { verifySchema } from '../../../src/migrations/schema/verify.js'
import { openScratchDb } from '../../support/dify-schema.js'
import { loadRelease } from '../../support/oracles.js'
import { scratchPg, type Scratch } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import type { Db } from '../../../src/core/db.js'

/** Dify 1.11.0's head, and the first transaction of the upgrade from it creates tenant_credit_pools (1.12.0) */
const FROM = 'd57accd375ae'

const scratches: Scratch[] = []
afterAll(async () => {
  for (const s of scratches) await s.drop().catch(() => {})
})

async function at1110(tag: string): Promise<{ s: Scratch; db: Db }> {
  const s = await scratchPg(tag)
  scratches.push(s)
  await loadRelease(s, 'postgres', '1.11.0')
  return { s, db: await openScratchDb(s.env) }
}
const rows = async (db: Db, text: string) => (await sql.raw(text).execute(db.kysely)).rows

describe('the pre-flight beside the run (PostgreSQL)', () => {
  it('a difference no pending revision touches: refused (exit 4), the first transaction rolled back, nothing committed', async () => {
    const { s, db } = await at1110('pfref')
    try {
      // an index of 1.11.0 that no revision after it touches: the first group runs through, the verdict refuses
      await rows(db, 'drop index account_email_idx')
      const events: RunEvent[] = []
      let err: any
      try {
        await upgradeDb({ db: async () => db, database: s.name }, { onEvent: (e) => events.push(e) })
      } catch (e) {
        err = e
      }
      expect(err?.exitCode).toBe(4)
      expect(err.message).toContain('account_email_idx')
      expect(await rows(db, 'select version_num from alembic_version')).toEqual([{ version_num: FROM }])
      expect(await rows(db, `select to_regclass('tenant_credit_pools') is null as absent`)).toEqual([{ absent: true }])
      expect(events.some((e) => e.type === 'revision-done')).toBe(false)
    } finally {
      await db.close()
    }
  })

  it('a pre-flight that meets a lock is judged again alone, then the upgrade finishes', async () => {
    const { s, db } = await at1110('pflock')
    // another session holds pg_sequence (the pre-flight reads it; the state read and the locks do not) for longer than
    // the side check's 1 s budget
    const other = new pg.Client({ ...PG, database: s.name })
    await other.connect()
    try {
      await other.query('begin')
      await other.query('lock table pg_catalog.pg_sequence in access exclusive mode')
      const release = setTimeout(() => void other.query('rollback').catch(() => {}), 1500)
      const events: RunEvent[] = []
      try {
        const r = await upgradeDb({ db: async () => db, database: s.name }, { onEvent: (e) => events.push(e) })
        expect(r.status).toBe('upgraded')
      } finally {
        clearTimeout(release)
      }
      // the first revision was announced, rolled back with its group after the lock verdict, and run again
      const announced = events.filter((e) => e.type === 'revision' && e.revision === '03ea244985ce')
      expect(announced).toHaveLength(2)
      expect(events.filter((e) => e.type === 'warn')).toEqual([])
      expect((await verifySchema(db)).differences).toEqual([])
    } finally {
      await other.end().catch(() => {})
      await db.close()
    }
  })
})
