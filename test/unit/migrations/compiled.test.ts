import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { BASELINE, REVISION_LIST } from '../../../src/migrations/registry.js'
import {
  compileNow,
  compiledKey,
  loadPrecompiled,
  precompiled,
  precompiledLoaded,
} from '../../../src/migrations/compiled.js'
import { REVISION_SQL_JSON as POSTGRES } from '../../../src/migrations/revisions.generated.postgres.js'
import { REVISION_SQL_JSON as MYSQL } from '../../../src/migrations/revisions.generated.mysql.js'

describe('revision SQL compiled at build time (src/migrations/revisions.generated.<dialect>.ts)', () => {
  const revs = [BASELINE, ...REVISION_LIST]
  for (const dialect of ['postgres', 'mysql'] as const) {
    it(`${dialect}: the generated SQL is what the revisions compile to now (regenerate: npm run gen:revision-sql)`, () => {
      const gen = JSON.parse(dialect === 'postgres' ? POSTGRES : MYSQL) as Record<string, unknown>
      const want: Record<string, unknown> = {}
      for (const rev of revs) {
        const st = precompiled(rev, dialect)
        if (st) want[compiledKey(rev)] = st
      }
      expect(gen).toEqual(want)
    })

    it(`${dialect}: statements() serves it once loaded, equal to the run-time compile; code steps still compile at run time`, async () => {
      // before loadPrecompiled, statements() compiles (the same SQL); migrationDeps loads the connected dialect's
      const before = revs.map((rev) => rev.statements(dialect).map((s) => s.sql))
      expect(before).toEqual(revs.map((rev) => compileNow(rev, dialect).map((s) => s.sql)))
      await loadPrecompiled(dialect)
      expect(precompiledLoaded(dialect)).toBe(true)
      let served = 0
      for (const rev of revs) {
        const now = compileNow(rev, dialect)
        const got = rev.statements(dialect)
        expect(got.map((s) => s.sql)).toEqual(now.map((s) => s.sql))
        expect(got.map((s) => [!!s.noTransaction, s.table, s.lock])).toEqual(
          now.map((s) => [!!s.noTransaction, s.table, s.lock]),
        )
        if (now.some((s) => s.run || s.onError)) expect(got.some((s) => s.run || s.onError)).toBe(true)
        else served++
      }
      expect(served).toBeGreaterThan(revs.length - 5)
    })
  }

  it('the build regenerates it first', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'))
    expect(pkg.scripts.build).toMatch(/^rm -rf dist && tsx scripts\/gen-revision-sql\.ts && /)
  })
})
