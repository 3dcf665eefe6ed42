/**
 * The literals of `dify retention clean`'s DO blocks (src/retention/block.ts): every value the block's text carries
 * reads back from PostgreSQL as exactly that value, whatever standard_conforming_strings says, and the dollar-quote
 * tag never occurs in the body it encloses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Kysely, PostgresDialect } from 'kysely'
import { connectScratch, scratchPg, type Scratch, type ScratchSql } from '../../support/scratch.js'
import { blockSql, pgLiteral } from '../../../src/retention/block.js'
import type { Db } from '../../../src/core/db.js'
import type { RetentionRoot } from '../../../src/dify/retention-map.js'

const TRICKY = [
  '',
  "it's",
  "''",
  'back\\slash',
  '\\',
  "\\'",
  "a\\'; drop table x; --",
  '$dify_ops$',
  '$$',
  "E'x'",
  'välue ✓ 日本',
  'line\nbreak\ttab',
  '%s %',
]

describe('DO block literals (PostgreSQL)', () => {
  let s: Scratch
  let c: ScratchSql
  beforeAll(async () => {
    s = await scratchPg('retblocklit')
    c = await connectScratch(s)
  })
  afterAll(async () => {
    await c?.end()
    await s?.drop()
  })

  for (const scs of ['on', 'off'])
    it(`strings read back exactly (standard_conforming_strings = ${scs})`, async () => {
      await c.query(`set standard_conforming_strings = ${scs}`)
      for (const v of TRICKY) {
        const r = await c.query(`select ${pgLiteral(v)}::text as v`)
        expect(r[0]!.v, JSON.stringify(v)).toBe(v)
      }
      // inside a DO block too (the body is parsed again by PL/pgSQL)
      await c.query('create temp table lit (i int, v text)')
      const body = TRICKY.map((v, i) => `insert into lit values (${i}, ${pgLiteral(v)});`).join('\n')
      await c.query(`do $t$ begin ${body} end $t$`)
      const rows = await c.query('select i, v from lit order by i')
      expect(rows.map((r) => r.v)).toEqual(TRICKY)
      await c.query('drop table lit')
    })

  it('numbers, null and what has no literal', () => {
    expect(pgLiteral(null)).toBe('null')
    expect(pgLiteral(undefined)).toBe('null')
    expect(pgLiteral(42)).toBe('42')
    expect(pgLiteral(10n)).toBe('10')
    expect(() => pgLiteral(1.5)).toThrow()
    expect(() => pgLiteral(Number.NaN)).toThrow()
    expect(() => pgLiteral('a\0b')).toThrow()
    expect(() => pgLiteral({})).toThrow()
  })

  it("the dollar-quote tag is one the body does not contain (an --app value can't end the block)", () => {
    const db = {
      dialect: 'postgres',
      kysely: new Kysely({ dialect: new PostgresDialect({ pool: {} as never }) }),
    } as unknown as Db
    const root = {
      table: 'workflow_runs',
      group: 'workflow',
      createdAt: 'created_at',
      appColumn: 'app_id',
      tenantColumn: 'tenant_id',
      pk: ['id'],
      from: '1.0.0',
      link: null,
      upstream: '',
      index: { columns: ['created_at', 'id'], difyName: null },
      children: [],
    } as unknown as RetentionRoot
    const text = blockSql(
      db,
      root,
      {
        jobKey: 'k',
        group: 'workflow',
        state: 'running',
        cutoff: '2026-01-01 00:00:00',
        lastCreatedAt: null,
        lastId: null,
        batches: 0,
        deleted: 0,
      },
      new Map([['workflow_runs.id', 'uuid']]),
      {
        batchSize: 10,
        apps: ['$dify_ops$', '$dify_ops_0$'],
        tenants: [],
        maxBatches: 1,
        budgetMs: 100,
        maxLockWaits: 5,
        onBatch: () => {},
      },
    )
    const tag = /^do (\$[a-z_0-9]*\$)/.exec(text)![1]!
    expect(tag).toBe('$dify_ops_1$')
    const body = text.slice(3 + tag.length, -tag.length)
    expect(body.includes(tag)).toBe(false)
    expect(text.endsWith(tag)).toBe(true)
  })
})
