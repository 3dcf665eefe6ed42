/** The header of `documents stuck`'s human report names the release, or says the CLI does not know it. */
import { describe, expect, it } from 'vitest'
import { renderStuck } from '../../../src/documents/render.js'
import type { StuckDocument, StuckResult } from '../../../src/documents/stuck.js'

const doc = {
  id: 'd1',
  name: 'a.pdf',
  class: 'queued',
  indexingStatus: 'waiting',
  ageSeconds: 600,
  segments: { byStatus: {} },
  reason: 'no message for it in any queue',
} as unknown as StuckDocument
const result = (version: string | null): StuckResult =>
  ({
    version,
    olderThanSeconds: null,
    documents: [doc],
    tenantQueues: [],
    verdicts: [],
    workers: { asked: false, receivers: 0, nodes: [] },
    scanned: { messages: 0, unacked: 0 },
  }) as unknown as StuckResult

describe('renderStuck header', () => {
  it('names the release', () => {
    expect(renderStuck(result('1.15.0'))[0]).toBe(
      '1 document(s) not completed (Dify 1.15.0; 0 queued message(s), 0 unacked, workers not asked):',
    )
  })
  it('a release the CLI does not know (newer, unknown) is said so, not "Dify ?"', () => {
    expect(renderStuck(result(null))[0]).toMatch(
      /^1 document\(s\) not completed \(a Dify release this CLI does not know;/,
    )
  })
})
