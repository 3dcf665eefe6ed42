/**
 * Seeding any Dify release's schema (test/support/oracles.ts) without knowing its columns: `fill` completes a row
 * with a value of the right type for every NOT NULL column without a default and drops the keys the release's
 * table does not have (e.g. datasets.is_multimodal before 1.11.0). Used by the per-release command matrix.
 */
import { randomUUID } from 'node:crypto'
import type { NormalisedSchema } from '../../src/migrations/schema/introspect.js'
import type { SeedDb } from './dify-accounts.js'

const NOW = '2026-01-01 00:00:00'

function dummy(type: string): unknown {
  const t = type.toLowerCase()
  if (t === 'uuid' || t === 'char(36)') return randomUUID()
  if (/^(character varying|varchar|text|longtext|mediumtext|char|character)/.test(t)) return 'x'
  if (/^(timestamp|datetime|date)/.test(t)) return NOW
  if (t === 'boolean' || t === 'tinyint(1)') return false
  if (/^(integer|int|bigint|smallint|double|real|numeric|float|decimal|tinyint)/.test(t)) return 0
  if (/^jsonb?$/.test(t)) return '{}'
  if (t === 'bytea' || /blob/.test(t)) return Buffer.from('')
  return 'x'
}

export interface ReleaseSink {
  schema: NormalisedSchema
  has(table: string, column?: string): boolean
  /** insert one row, completed for this release (unknown keys dropped, NOT NULL columns filled) */
  insert(table: string, row: Record<string, unknown>): Promise<void>
}

export function releaseSink(db: SeedDb, schema: NormalisedSchema, dialect: 'postgres' | 'mysql'): ReleaseSink {
  const tables = new Map(schema.tables.map((t) => [t.name, t]))
  return {
    schema,
    has: (table, column) => {
      const t = tables.get(table)
      return !!t && (!column || t.columns.some((c) => c.name === column))
    },
    async insert(table, row) {
      const t = tables.get(table)
      if (!t) throw new Error(`no table ${table} at this release`)
      const out: Record<string, unknown> = {}
      for (const c of t.columns) {
        if (c.name in row) out[c.name] = row[c.name]
        else if (!c.nullable && c.default === null && !c.generated && !c.autoIncrement && !c.identity)
          out[c.name] = dummy(c.type)
      }
      const cols = Object.keys(out)
      const q = dialect === 'postgres' ? (c: string) => `"${c}"` : (c: string) => `\`${c}\``
      await db.query(
        `insert into ${table} (${cols.map(q).join(', ')}) values (${cols.map(() => '?').join(', ')})`,
        Object.values(out),
      )
    },
  }
}
