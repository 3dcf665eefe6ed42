import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tmpdir } from 'node:os'
import { loadConfig } from '../../../src/config/schema.js'
import { Runtime } from '../../../src/runtime/index.js'
import { existingTables, tableExists } from '../../../src/core/catalog.js'
import { connectScratch, scratchMysql, scratchPg, type Scratch } from '../../support/scratch.js'

const scratches: Scratch[] = []
const runtimes: Runtime[] = []

async function dbOf(s: Scratch) {
  const rt = new Runtime(loadConfig({ env: s.env, noDotenv: true, cwd: tmpdir() }))
  runtimes.push(rt)
  return rt.db()
}

beforeAll(async () => {
  scratches.push(await scratchPg('catalog'), await scratchMysql('catalog'))
  for (const s of scratches) {
    const c = await connectScratch(s)
    await c.query('create table accounts (id int primary key)')
    await c.query('create table dify_ops_checkpoint (id int primary key)')
    await c.query('create view account_names as select id from accounts')
    await c.end()
  }
})
afterAll(async () => {
  for (const r of runtimes) await r.close()
  for (const s of scratches) await s.drop()
})

describe.each([
  ['PostgreSQL', 0],
  ['MariaDB', 1],
] as const)('core/catalog on %s', (_, i) => {
  it('lists every table and view of the schema, or those of a list that exist', async () => {
    const db = await dbOf(scratches[i]!)
    expect([...(await existingTables(db))].sort()).toEqual(['account_names', 'accounts', 'dify_ops_checkpoint'])
    expect([...(await existingTables(db, ['accounts', 'tenants', 'account_names']))].sort()).toEqual([
      'account_names',
      'accounts',
    ])
    expect(await existingTables(db, [])).toEqual(new Set())
  })

  it('says whether one table exists', async () => {
    const db = await dbOf(scratches[i]!)
    expect(await tableExists(db, 'dify_ops_checkpoint')).toBe(true)
    expect(await tableExists(db, 'dify_ops_retention_checkpoint')).toBe(false)
  })
})
