import { describe, expect, it } from 'vitest'
import { SUPPORTED_WINDOW } from '../../src/dify/window.js'
import { BASELINE, REVISION_LIST } from '../../src/migrations/registry.js'
import { REVISIONS, releaseOfRevision } from '../../src/dify/releases.js'

// `dify --version` must not load the migration registry (cold start), so the window is a constant: this test keeps
// it equal to the release heads it names, and the registry (upgrade-db's range) inside it.
describe('the supported window printed by dify --version', () => {
  it('names the heads of 1.0.0 and 1.15.0 (MySQL from 1.10.1)', () => {
    expect(releaseOfRevision(SUPPORTED_WINDOW.fromHead).release).toBe(SUPPORTED_WINDOW.from)
    expect(releaseOfRevision(SUPPORTED_WINDOW.toHead).release).toBe(SUPPORTED_WINDOW.to)
    expect(releaseOfRevision(SUPPORTED_WINDOW.mysqlFromHead).release).toBe(SUPPORTED_WINDOW.mysqlFrom)
  })
  it("holds the registry's head", () => {
    const seq = (r: string) => REVISIONS.get(r)!.seq
    expect(seq(REVISION_LIST.at(-1)!.revision)).toBeLessThanOrEqual(seq(SUPPORTED_WINDOW.toHead))
    expect(REVISION_LIST.at(-1)!.revision).toBe(SUPPORTED_WINDOW.toHead)
  })
  it("the registry's baseline is 1.11.0's head", () => {
    expect(BASELINE.revision).toBe('d57accd375ae')
    expect(releaseOfRevision(BASELINE.revision).release).toBe('1.11.0–1.11.1')
  })
})
