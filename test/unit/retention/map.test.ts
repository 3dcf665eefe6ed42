import { describe, expect, it } from 'vitest'
import { fixtureIndex, fixtureSchema } from '../../support/schema-fixtures.js'
import {
  RETENTION_KEPT,
  RETENTION_ROOTS,
  retentionMapFor,
  walk,
  type RetentionTable,
} from '../../../src/dify/retention-map.js'

const all = (roots: readonly RetentionTable[]) => roots.flatMap((r) => walk(r).map((x) => x.t))

describe('the retention dependency map against every release schema', () => {
  const releases = fixtureIndex().releases.filter((r) => r.fixture)
  it.each(releases.map((r) => [r.dialect, r.release] as const))(
    '%s %s: every table, key and link column exists; nothing newer',
    (dialect, release) => {
      const s = fixtureSchema(dialect, release)
      const byName = new Map(s.tables.map((t) => [t.name, t]))
      const map = all(retentionMapFor(release))
      for (const t of map) {
        const st = byName.get(t.table)
        expect(st, `${t.table} at ${release}`).toBeDefined()
        const cols = new Set(st!.columns.map((c) => c.name))
        expect(st!.primaryKey?.columns).toEqual([...t.pk])
        if (t.link) {
          expect(cols.has(t.link.column), `${t.table}.${t.link.column}`).toBe(true)
          expect(byName.get(t.link.parent)?.columns.some((c) => c.name === 'id')).toBe(true)
        } else expect(cols.has('created_at')).toBe(true)
        if (t.fileColumn) expect(cols.has(t.fileColumn)).toBe(true)
      }
      // a table the map leaves out at this release is really absent (its `from` is exact)
      const inMap = new Set(map.map((t) => t.table))
      for (const t of all(RETENTION_ROOTS))
        if (!inMap.has(t.table)) expect(byName.has(t.table), `${t.table} at ${release}`).toBe(false)
      expect(byName.get('workflow_runs')!.columns.some((c) => c.name === 'status')).toBe(true)
      for (const k of RETENTION_KEPT)
        if (byName.has(k.table)) expect(byName.get(k.table)!.columns.some((c) => c.name === k.column)).toBe(true)
    },
  )
})
