import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { scratchMysql, type Scratch } from '../../support/scratch.js'
import { createDifySchema, DIFY_HEAD, openScratchDb } from '../../support/dify-schema.js'
import { diffSchemas, introspectSchema, type NormalisedSchema } from '../../../src/migrations/schema/introspect.js'
import { REVISION_LIST } from '../../../src/migrations/registry.js'

/**
 * The reviewed snapshot of Dify's MySQL schema at the head, normalised (docs/migrations.md explains every class of
 * difference from PostgreSQL). It was checked to be identical to what Dify's own migrations (MySQL dialect) build
 * on MariaDB 10.11 (scripts/dev/dify-mysql-oracle.sh). Regenerate with UPDATE_MYSQL_SNAPSHOT=1 only after review.
 */
const SNAPSHOT = fileURLToPath(new URL(`../../fixtures/mysql-schema-${DIFY_HEAD}.json`, import.meta.url))

let s: Scratch
beforeAll(async () => {
  s = await scratchMysql('myhead')
})
afterAll(async () => {
  await s?.drop()
})

describe('MySQL/MariaDB schema', () => {
  it('fresh → head succeeds and equals the reviewed snapshot', async () => {
    const db = await openScratchDb(s.env)
    try {
      await createDifySchema(db)
      const got: NormalisedSchema = await introspectSchema(db)
      const versions = (await sql.raw('SELECT version_num FROM alembic_version').execute(db.kysely)).rows
      expect(versions).toEqual([{ version_num: DIFY_HEAD }])
      if (process.env.UPDATE_MYSQL_SNAPSHOT === '1') writeFileSync(SNAPSHOT, JSON.stringify(got, null, 2) + '\n')
      const expected = JSON.parse(readFileSync(SNAPSHOT, 'utf8')) as NormalisedSchema
      expect(diffSchemas(expected, got, ['snapshot', 'ours'])).toEqual([])
    } finally {
      await db.close()
    }
  })

  it('no MySQL statement needs a PostgreSQL-only construct', () => {
    for (const r of REVISION_LIST) {
      for (const st of r.statements('mysql')) {
        expect(st.sql).not.toMatch(/::|uuid_generate_v4|uuidv7|using gin|"|CREATE EXTENSION|CREATE SEQUENCE|COMMENT ON/i)
      }
    }
  })
})
