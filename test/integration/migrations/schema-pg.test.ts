import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { scratchPg, type Scratch } from '../../support/scratch.js'
import { createDifySchema, DIFY_HEAD, loadOracleSchema, openScratchDb, upgradeDifySchema } from '../../support/dify-schema.js'
import { diffSchemas, introspectSchema, type NormalisedSchema } from '../../../src/migrations/schema/introspect.js'
import { REVISION_LIST } from '../../../src/migrations/registry.js'

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
    const versions = ((await sql.raw('SELECT version_num FROM alembic_version').execute(db.kysely)).rows as { version_num: string }[]).map((r) => r.version_num)
    return { schema, versions }
  } finally {
    await db.close()
  }
}
async function oracle(revision: string) {
  const s = await fresh(`or${revision}`)
  loadOracleSchema(s.name, revision)
  return s
}

let head: NormalisedSchema
beforeAll(async () => {
  head = (await schemaOf(await oracle(DIFY_HEAD))).schema
})
afterAll(async () => {
  for (const s of scratches) await s.drop().catch(() => {})
})

describe('PostgreSQL schema against Dify\'s own Alembic output (offline oracle)', () => {
  it('the baseline on an empty database is exactly Dify\'s schema at d57accd375ae', async () => {
    const expected = (await schemaOf(await oracle('d57accd375ae'))).schema
    const s = await fresh('base')
    const db = await openScratchDb(s.env)
    await createDifySchema(db, 'd57accd375ae')
    await db.close()
    const got = await schemaOf(s)
    expect(diffSchemas(expected, got.schema, ['oracle', 'ours'])).toEqual([])
    expect(got.versions).toEqual(['d57accd375ae'])
  })

  it('fresh → head is exactly Dify\'s schema at the head', async () => {
    const s = await fresh('head')
    const db = await openScratchDb(s.env)
    await createDifySchema(db)
    await db.close()
    const got = await schemaOf(s)
    expect(diffSchemas(head, got.schema, ['oracle', 'ours'])).toEqual([])
    expect(got.versions).toEqual([DIFY_HEAD])
  })

  const starts = REVISION_LIST.map((r) => r.revision).filter((r) => r !== DIFY_HEAD)
  it.each(starts)('a database built by Dify at %s, brought forward by our revisions, equals the head', async (rev) => {
    const s = await oracle(rev)
    const db = await openScratchDb(s.env)
    const applied = await upgradeDifySchema(db)
    await db.close()
    expect(applied.at(-1)).toBe(DIFY_HEAD)
    const got = await schemaOf(s)
    expect(diffSchemas(head, got.schema, ['oracle', 'ours'])).toEqual([])
    expect(got.versions).toEqual([DIFY_HEAD])
  })
})
