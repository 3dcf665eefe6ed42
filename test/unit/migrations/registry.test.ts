import { describe, expect, it } from 'vitest'
import { REVISION_LIST } from '../../../src/migrations/registry.js'
import { ALEMBIC_CHAIN } from '../../../src/dify/alembic-chain.js'
import { BASELINE_REVISION } from '../../../src/migrations/baseline/schema.js'

describe('migration registry', () => {
  it('follows Dify\'s revision graph from the baseline, one revision after the other', () => {
    const down = new Map(ALEMBIC_CHAIN.map(([, rev, d]) => [rev, d]))
    const [first, ...rest] = REVISION_LIST
    expect(first!.revision).toBe(BASELINE_REVISION)
    expect(first!.baseline).toBe(true)
    expect(first!.downRevision).toBeNull()
    let prev = first!.revision
    for (const r of rest) {
      expect(down.get(r.revision), r.revision).toBe(prev)
      expect(r.downRevision).toBe(prev)
      expect(r.baseline).toBeFalsy()
      prev = r.revision
    }
    expect(prev).toBe('d9e8f7a6b5c4')
  })

  it('records the first stable release of every revision as the chain table does', () => {
    const rel = new Map(ALEMBIC_CHAIN.map(([, rev, , release]) => [rev, release]))
    for (const r of REVISION_LIST) expect(r.release, r.revision).toBe(rel.get(r.revision))
  })

  it('compiles every revision for both dialects without bind parameters', () => {
    for (const r of REVISION_LIST) {
      for (const d of ['postgres', 'mysql'] as const) {
        // compile.ts stmt() throws when a builder needs bind parameters
        const st = r.statements(d)
        expect(st.length, `${r.revision} ${d}`).toBeGreaterThan(0)
        for (const s of st) expect(s.sql.trim()).not.toBe('')
      }
    }
  })
})
