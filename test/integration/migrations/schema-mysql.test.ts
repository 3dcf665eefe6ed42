import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { scratchMysql, type Scratch } from '../../support/scratch.js'
import { createDifySchema, DIFY_HEAD, openScratchDb, upgradeDifySchema } from '../../support/dify-schema.js'
import { checkAnnotations, seedAnnotations } from './annotations-data.js'
import { diffSchemas, introspectSchema, type NormalisedSchema } from '../../../src/migrations/schema/introspect.js'
import { REVISION_LIST } from '../../../src/migrations/registry.js'
import { releaseSchema } from '../../support/oracles.js'

let s: Scratch
beforeAll(async () => {
  s = await scratchMysql('myhead')
})
afterAll(async () => {
  await s?.drop()
})

describe('MySQL/MariaDB schema', () => {
  it('fresh → head succeeds (with the data step of 9e6fa5cbcd80) and equals a fresh Dify 1.15.0 on MySQL', async () => {
    const db = await openScratchDb(s.env)
    try {
      await createDifySchema(db, '288345cd01d1')
      await seedAnnotations(db)
      await upgradeDifySchema(db)
      await checkAnnotations(db)
      const got: NormalisedSchema = await introspectSchema(db)
      const versions = (await sql.raw('SELECT version_num FROM alembic_version').execute(db.kysely)).rows
      expect(versions).toEqual([{ version_num: DIFY_HEAD }])
      expect(diffSchemas(await releaseSchema('mysql', '1.15.0'), got, ['dify 1.15.0', 'ours'])).toEqual([])
    } finally {
      await db.close()
    }
  }, 300_000)

  it('no MySQL statement needs a PostgreSQL-only construct', () => {
    for (const r of REVISION_LIST) {
      for (const st of r.statements('mysql')) {
        expect(st.sql).not.toMatch(
          /::|uuid_generate_v4|uuidv7|using gin|"|CREATE EXTENSION|CREATE SEQUENCE|COMMENT ON/i,
        )
      }
    }
  })
})
