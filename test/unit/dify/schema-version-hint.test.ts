import { describe, expect, it } from 'vitest'
import { checkSupported } from '../../../src/dify/schema-version.js'
import { profileFor } from '../../../src/dify/profile.js'

/** Issue #15 §4: a database newer than this CLI knows is never told to run `dify upgrade-db`, which cannot help it. */
describe('unsupported-release hint', () => {
  const hintOf = (revision: string | null): string | undefined => {
    try {
      checkSupported(profileFor(revision), { writes: true })
      return undefined
    } catch (e) {
      return (e as { hint?: string }).hint
    }
  }
  it.each([
    ['a6f1c9d2e8b4', 'after 1.15.0 on Dify main'],
    ['ffffffffffff', 'unknown to the CLI'],
  ])('%s (%s): no upgrade-db in the hint', (rev) => {
    const hint = hintOf(rev)
    if (hint !== undefined) expect(hint).not.toMatch(/upgrade-db/)
  })
  it('an older release (0.15.0) is still pointed to upgrade-db; an empty database too', () => {
    expect(hintOf('a91b476a53de')).toMatch(/upgrade-db/)
    expect(hintOf(null)).toMatch(/upgrade-db/)
  })
})
