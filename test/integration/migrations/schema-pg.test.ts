import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { scratchPg, type Scratch } from '../../support/scratch.js'
import {
  createDifySchema,
  DIFY_HEAD,
  loadOracleSchema,
  openScratchDb,
  upgradeDifySchema,
} from '../../support/dify-schema.js'
import { diffSchemas, introspectSchema, type NormalisedSchema } from '../../../src/migrations/schema/introspect.js'
import { REVISION_LIST } from '../../../src/migrations/registry.js'
import { checkAnnotations, seedAnnotations } from './annotations-data.js'
import { releaseSchema } from '../../support/oracles.js'

const scratches: Scratch[] = []
async function fresh(tag: string) {
  const s = await scratchPg(tag)
  scratches.push(s)
  return s
}
async function schemaOf(s: Scratch): Promise<{ schema: NormalisedSchema; versions: string[] }> {
  const db = await openScratchDb(s.env)
  try {
    const schema = await introspectSchema(db)
    const versions = (
      (await sql.raw('SELECT version_num FROM alembic_version').execute(db.kysely)).rows as { version_num: string }[]
    ).map((r) => r.version_num)
    return { schema, versions }
  } finally {
    await db.close()
  }
}
const BASE = 'd57accd375ae'
/** Dify's database at BASE, loaded once from the oracle; the oracle at later revisions is copied from it. */
let template: Scratch
let head: NormalisedSchema
let base: NormalisedSchema
beforeAll(async () => {
  template = await fresh('oracletemplate')
  loadOracleSchema(template.name, BASE)
  base = (await schemaOf(template)).schema
  head = await releaseSchema('postgres', '1.15.0')
})
afterAll(async () => {
  for (const s of scratches) await s.drop().catch(() => {})
}, 600_000)

describe("PostgreSQL schema against Dify's own Alembic output (offline oracle)", () => {
  it("the baseline on an empty database is exactly Dify's schema at d57accd375ae", async () => {
    const expected = base
    const s = await fresh('base')
    const db = await openScratchDb(s.env)
    await createDifySchema(db, 'd57accd375ae')
    await db.close()
    const got = await schemaOf(s)
    expect(diffSchemas(expected, got.schema, ['oracle', 'ours'])).toEqual([])
    expect(got.versions).toEqual(['d57accd375ae'])
  })

  it("fresh → head is exactly Dify's schema at the head", async () => {
    const s = await fresh('head')
    const db = await openScratchDb(s.env)
    await createDifySchema(db)
    await db.close()
    const got = await schemaOf(s)
    expect(diffSchemas(head, got.schema, ['oracle', 'ours'])).toEqual([])
    expect(got.versions).toEqual([DIFY_HEAD])

    // the normaliser ignores pgvector collection tables and dify-ops' own tables, as Dify's Alembic env does
    const db2 = await openScratchDb(s.env)
    for (const q of [
      'CREATE TABLE embedding_vector_index_0a1b2c3d_4e5f_nod (id uuid PRIMARY KEY, text text, meta jsonb)',
      'CREATE INDEX embedding_vector_index_0a1b2c3d_4e5f_nod_meta_idx ON embedding_vector_index_0a1b2c3d_4e5f_nod (meta)',
      'CREATE TABLE dify_ops_audit (id serial PRIMARY KEY, at timestamp)',
    ])
      await sql.raw(q).execute(db2.kysely)
    await db2.close()
    expect(diffSchemas(head, (await schemaOf(s)).schema)).toEqual([])
    // …but not other tables
    const db3 = await openScratchDb(s.env)
    await sql.raw('CREATE TABLE embedding_vector_index_x (id int)').execute(db3.kysely)
    await db3.close()
    expect(diffSchemas(head, (await schemaOf(s)).schema)).toEqual(['table embedding_vector_index_x: only in actual'])
    // and it sees a changed default, a dropped index and a changed nullability
    const db4 = await openScratchDb(s.env)
    for (const q of [
      'DROP TABLE embedding_vector_index_x',
      "ALTER TABLE accounts ALTER COLUMN status SET DEFAULT 'x'",
      'DROP INDEX account_email_idx',
      'ALTER TABLE accounts ALTER COLUMN avatar SET NOT NULL',
    ])
      await sql.raw(q).execute(db4.kysely)
    await db4.close()
    expect(diffSchemas(head, (await schemaOf(s)).schema)).toEqual([
      'table accounts column avatar nullable: expected true ≠ actual false',
      `table accounts column status default: expected "'active'::character varying" ≠ actual "'x'::character varying"`,
      'table accounts index account_email_idx: only in expected',
    ])
  })

  // from the baseline's revision on (older starts: upgrade-releases.test.ts, against each release's own schema)
  const starts = REVISION_LIST.slice(REVISION_LIST.findIndex((r) => r.revision === BASE))
    .map((r) => r.revision)
    .filter((r) => r !== DIFY_HEAD)
  it.each(starts)('a database built by Dify at %s, brought forward by our revisions, equals the head', async (rev) => {
    const s = await fresh(`up${rev}`)
    loadOracleSchema(s.name, rev)
    const db = await openScratchDb(s.env)
    // the one data migration in range (9e6fa5cbcd80) gets rows to migrate when it runs
    if (rev === '288345cd01d1') await seedAnnotations(db)
    const applied = await upgradeDifySchema(db)
    if (rev === '288345cd01d1') await checkAnnotations(db)
    await db.close()
    expect(applied.at(-1)).toBe(DIFY_HEAD)
    const got = await schemaOf(s)
    expect(diffSchemas(head, got.schema, ['oracle', 'ours'])).toEqual([])
    expect(got.versions).toEqual([DIFY_HEAD])
    scratches.splice(scratches.indexOf(s), 1)
    await s.drop() // one at a time: dropping ~45 databases at the end outlasts the hook timeout on a loaded machine
  })
})
