import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { openPglite } from '../../../src/runtime/pglite.js'
import { scratchPg, type Scratch } from '../../support/scratch.js'
import { createDifySchema, DIFY_HEAD, loadOracleSchema, openScratchDb } from '../../support/dify-schema.js'
import { diffSchemas, introspectSchema } from '../../../src/migrations/schema/introspect.js'

const dir = mkdtempSync(join(tmpdir(), 'dops-pglite-schema-'))
let oracle: Scratch | undefined
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  await oracle?.drop()
})

describe('PGlite', () => {
  it('fresh → head equals Dify\'s PostgreSQL schema at the head', async () => {
    const db = await openPglite(dir)
    let got
    try {
      await createDifySchema(db)
      got = await introspectSchema(db)
      expect((await sql.raw('SELECT version_num FROM alembic_version').execute(db.kysely)).rows).toEqual([{ version_num: DIFY_HEAD }])
    } finally {
      await db.close()
    }
    oracle = await scratchPg('pgliteoracle')
    loadOracleSchema(oracle.name, DIFY_HEAD)
    const odb = await openScratchDb(oracle.env)
    const expected = await introspectSchema(odb)
    await odb.close()
    expect(diffSchemas(expected, got, ['oracle', 'pglite'])).toEqual([])
  }, 180_000)
})
