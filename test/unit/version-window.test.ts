import { describe, expect, it } from 'vitest'
import { FIRST_WINDOW } from '../../src/dify/window.js'
import { BASELINE, REVISION_LIST } from '../../src/migrations/registry.js'
import { releaseOfRevision } from '../../src/dify/releases.js'

// `dify --version` must not load the migration registry (cold start), so the window is a constant: this test keeps
// it equal to what the registry can actually apply.
describe('the supported window printed by dify --version', () => {
  it('is the registry\'s baseline and head, and their releases', () => {
    expect(BASELINE.revision).toBe(FIRST_WINDOW.fromHead)
    expect(REVISION_LIST.at(-1)!.revision).toBe(FIRST_WINDOW.toHead)
    expect(releaseOfRevision(FIRST_WINDOW.fromHead).release).toBe('1.11.0–1.11.1')
    expect(releaseOfRevision(FIRST_WINDOW.toHead).release).toBe('1.12.0–1.12.1')
  })
})
