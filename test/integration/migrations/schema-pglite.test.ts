import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { openPglite } from '../../../src/runtime/pglite.js'
import { createDifySchema, DIFY_HEAD } from '../../support/dify-schema.js'
import { releaseSchema } from '../../support/oracles.js'
import { diffSchemas, introspectSchema } from '../../../src/migrations/schema/introspect.js'

const dir = mkdtempSync(join(tmpdir(), 'dops-pglite-schema-'))
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
})

describe('PGlite', () => {
  it('fresh → head equals a fresh Dify 1.15.0 on PostgreSQL', async () => {
    const db = await openPglite(dir)
    let got
    let nativeUuidv7 = false
    try {
      // PGlite 0.5 is PostgreSQL 18, which has pg_catalog.uuidv7(): like Dify ≥ 1.13 the baseline then creates no uuidv7() of its own
      const n = await sql
        .raw(
          `SELECT count(*)::int AS n FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace WHERE p.proname = 'uuidv7' AND s.nspname = 'pg_catalog'`,
        )
        .execute(db.kysely)
      nativeUuidv7 = (n.rows[0] as { n: number }).n > 0
      await createDifySchema(db)
      got = await introspectSchema(db)
      expect((await sql.raw('SELECT version_num FROM alembic_version').execute(db.kysely)).rows).toEqual([
        { version_num: DIFY_HEAD },
      ])
    } finally {
      await db.close()
    }
    const fresh = await releaseSchema('postgres', '1.15.0')
    const expected = nativeUuidv7
      ? { ...fresh, functions: fresh.functions.filter((f) => !(f.name === 'uuidv7' && f.args === '')) }
      : fresh
    expect(diffSchemas(expected, got, ['oracle', 'pglite'])).toEqual([])
  }, 180_000)
})
