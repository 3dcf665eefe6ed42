import { describe, expect, it } from 'vitest'
import { BASELINE, MYSQL_STEPS_FROM, REVISION_LIST, STEPS_FROM } from '../../../src/migrations/registry.js'
import { ALEMBIC_CHAIN } from '../../../src/dify/alembic-chain.js'
import { BASELINE_REVISION } from '../../../src/migrations/baseline/schema.js'
import { buildChain } from '../../../src/migrations/graph.js'

describe('migration registry', () => {
  it("the steps follow Dify's revision graph from 1.0.0's head, one revision after the other", () => {
    const down = new Map(ALEMBIC_CHAIN.map(([, rev, d]) => [rev, d]))
    expect(STEPS_FROM).toBe('08ec4f75af5e')
    let prev = STEPS_FROM
    for (const r of REVISION_LIST) {
      expect(down.get(r.revision), r.revision).toBe(prev)
      expect(r.downRevision).toBe(prev)
      expect(r.baseline).toBeFalsy()
      prev = r.revision
    }
    // every revision of Dify's chain between 1.0.0's head and the CLI's head is a step (seq 121 … head)
    const seq = new Map(ALEMBIC_CHAIN.map(([s, rev]) => [rev, s]))
    const from = seq.get(STEPS_FROM)!
    const to = seq.get(REVISION_LIST.at(-1)!.revision)!
    expect(REVISION_LIST.length).toBe(to - from)
    expect(REVISION_LIST[0]!.revision).toBe('4413929e1ec2')
    expect(REVISION_LIST.map((r) => r.revision)).toContain('788d3099ae3a')
    expect(REVISION_LIST.at(-1)!.revision).toBe('d9e8f7a6b5c4')
  })

  it('the baseline stands for the step d57accd375ae (from 7bb281b7a422) and only for an empty database', () => {
    expect(BASELINE.revision).toBe(BASELINE_REVISION)
    expect(BASELINE.baseline).toBe(true)
    expect(BASELINE.downRevision).toBeNull()
    const step = REVISION_LIST.find((r) => r.revision === BASELINE_REVISION)!
    expect(step.downRevision).toBe('7bb281b7a422')
    expect(step).not.toBe(BASELINE)
    const c = buildChain(REVISION_LIST, BASELINE)
    expect(c.floor).toBe(STEPS_FROM)
    expect(c.baseline).toBe(BASELINE)
    expect(c.root.revision).toBe('4413929e1ec2')
  })

  it('records the first stable release of every revision as the chain table does', () => {
    const rel = new Map(ALEMBIC_CHAIN.map(([, rev, , release]) => [rev, release]))
    for (const r of [BASELINE, ...REVISION_LIST]) expect(r.release, r.revision).toBe(rel.get(r.revision))
  })

  it('MySQL: exactly the steps after Dify 1.10.1 (09cfdda155d1) exist there', () => {
    const i = REVISION_LIST.findIndex((r) => r.revision === MYSQL_STEPS_FROM)
    expect(i).toBeGreaterThan(0)
    REVISION_LIST.forEach((r, j) => {
      expect(r.mysql === false, r.revision).toBe(j <= i)
      if (r.mysql === false) expect(r.statements('mysql')).toEqual([])
    })
  })

  it('compiles every revision for both dialects without bind parameters', () => {
    for (const r of [BASELINE, ...REVISION_LIST]) {
      for (const d of ['postgres', 'mysql'] as const) {
        if (d === 'mysql' && r.mysql === false) continue
        // compile.ts stmt() throws when a builder needs bind parameters
        const st = r.statements(d)
        expect(st.length, `${r.revision} ${d}`).toBeGreaterThan(0)
        for (const s of st) expect(s.sql.trim()).not.toBe('')
      }
    }
  })
})

describe('schema facts (schema/facts.<dialect>.generated.ts) cover the registry', () => {
  it('every step has expected-schema facts on each dialect where it runs (regenerate: scripts/dev/gen-schema-facts.ts)', async () => {
    const { loadSchemaFacts } = await import('../../../src/migrations/schema/facts.js')
    const pg = await loadSchemaFacts('postgres')
    const my = await loadSchemaFacts('mysql')
    expect(pg.from).toBe(STEPS_FROM)
    expect(my.from).toBe(MYSQL_STEPS_FROM)
    expect(pg.revisions.slice(1)).toEqual(REVISION_LIST.map((r) => r.revision))
    expect(my.revisions.slice(1)).toEqual(REVISION_LIST.filter((r) => r.mysql !== false).map((r) => r.revision))
    // the baseline description and the facts agree on which tables exist at d57accd375ae
    const { BASELINE_SCHEMA } = await import('../../../src/migrations/baseline/schema.js')
    for (const f of [pg, my])
      expect(
        f
          .at(BASELINE_REVISION)!
          .tables.map((t) => t.name)
          .filter((n) => n !== 'alembic_version'),
      ).toEqual(BASELINE_SCHEMA.tables.map((t) => t.name).sort())
  })
})
