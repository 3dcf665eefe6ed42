import { describe, expect, it } from 'vitest'
import { FIRST_WINDOW } from '../../src/dify/window.js'
import { REVISION_LIST } from '../../src/migrations/registry.js'
import { releaseOfRevision } from '../../src/dify/releases.js'

// `dify --version` must not load the migration registry (cold start), so the window is a constant: this test keeps
// it within what the registry can actually apply. upgrade-db's own head is the registry's last revision (it may run
// ahead of the window while the window's commands catch up; the profile owns the window).
describe('the supported window printed by dify --version', () => {
  it('lies within the registry: baseline first, the window head a registry revision', () => {
    const ids = REVISION_LIST.map((r) => r.revision)
    expect(ids[0]).toBe(FIRST_WINDOW.fromHead)
    expect(ids).toContain(FIRST_WINDOW.toHead)
    expect(releaseOfRevision(FIRST_WINDOW.fromHead).release).toBe('1.11.0–1.11.1')
    expect(REVISION_LIST.at(-1)!.revision).toBe('d9e8f7a6b5c4')
  })
})
