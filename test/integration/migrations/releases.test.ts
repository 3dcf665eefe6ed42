import { afterAll, describe, expect, it } from 'vitest'
import { scratchMysql, scratchPg, type Scratch } from '../../support/scratch.js'
import { openScratchDb, upgradeDifySchema } from '../../support/dify-schema.js'
import { expectedAfterUpgrade, loadRelease } from '../../support/oracles.js'
import { diffSchemas, introspectSchema } from '../../../src/migrations/schema/introspect.js'

const scratches: Scratch[] = []
afterAll(async () => {
  for (const s of scratches) await s.drop().catch(() => {})
})

describe.each(['postgres', 'mysql'] as const)('in-process %s', (dialect) => {
  it.each(['1.11.0', '1.13.0', '1.14.0'])('from %s', async (rel) => {
    if (dialect === 'mysql' && ['1.11.3', '1.11.4', '1.12.0', '1.12.1'].includes(rel)) return
    const s = dialect === 'postgres' ? await scratchPg('rel' + rel) : await scratchMysql('rel' + rel)
    scratches.push(s)
    await loadRelease(s, dialect, rel)
    const db = await openScratchDb(s.env)
    await upgradeDifySchema(db)
    const got = await introspectSchema(db)
    await db.close()
    expect(diffSchemas(await expectedAfterUpgrade(dialect, rel), got, ['dify', 'ours'])).toEqual([])
  })
})
