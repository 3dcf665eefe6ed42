import { describe, expect, it } from 'vitest'
import { verify } from '../../../src/vdb-migrate/migrate.js'
import type { VectorRecord, VectorStore } from '../../../src/vector/store.js'

/** A store holding `recs` whose search finds a vector's own record only for the doc_ids in `findable`. */
function approxStore(recs: VectorRecord[], findable: Set<string>): VectorStore {
  return {
    count: async () => recs.length,
    exists: async () => true,
    async *scan() {
      yield recs
    },
    search: async (_t, v) => {
      const self = recs.find((r) => r.vector === v || r.vector.every((x, i) => x === v[i]))
      const others = recs.filter((r) => r !== self).slice(0, 10)
      const hits = self && findable.has(self.docId) ? [self, ...others.slice(0, 9)] : others
      return hits.map((r) => ({ id: r.id, docId: r.docId, text: r.text, metadata: r.metadata, score: 0.5 }))
    },
  } as Partial<VectorStore> as VectorStore
}

const recs: VectorRecord[] = Array.from({ length: 30 }, (_, i) => ({
  id: `d${i}`,
  docId: `d${i}`,
  text: `t${i}`,
  metadata: {},
  vector: [i, 1, 2],
}))
const expected = new Set(recs.map((r) => r.docId))
const sample = recs.slice(0, 12).map((r) => ({ docId: r.docId, vector: r.vector }))

describe('verify: the search probe tolerates an approximate index', () => {
  it('passes on the first probe that finds itself, counting the misses before it', async () => {
    const out = { n: 0, probeMisses: 0 }
    expect(
      await verify(approxStore(recs, new Set(['d3'])), { collection: 'c' }, expected, sample, 100, null, out),
    ).toBeNull()
    expect(out.probeMisses).toBe(3)
  })
  it('passes with every probe missing (approximate index) when searches answer; fails when they return nothing or strays', async () => {
    const out = { n: 0, probeMisses: 0 }
    expect(await verify(approxStore(recs, new Set()), { collection: 'c' }, expected, sample, 100, null, out)).toBeNull()
    expect(out.probeMisses).toBe(10)
    const mute = approxStore(recs, new Set())
    mute.search = async () => []
    expect(await verify(mute, { collection: 'c' }, expected, sample, 100)).toMatch(
      /searches with 10 sampled vector\(s\) return nothing/,
    )
    const stray = approxStore(recs, new Set())
    stray.search = async () => [{ id: 'x', docId: 'x', text: '', metadata: {}, score: 1 }]
    expect(await verify(stray, { collection: 'c' }, expected, sample, 100)).toMatch(
      /doc_id x, which the target scan did not hold/,
    )
  })
  it('waits for the index before searching', async () => {
    const out = { n: 0, probeMisses: 0 }
    let built = false
    const index = new Promise<void>((r) =>
      setTimeout(() => {
        built = true
        r()
      }, 20),
    )
    const store = approxStore(recs, new Set(['d11'])) // the 12th sampled vector: beyond the 10 probes
    const search = store.search.bind(store)
    store.search = async (...a) => {
      expect(built).toBe(true)
      return search(...a)
    }
    expect(await verify(store, { collection: 'c' }, expected, sample, 100, null, out, index)).toBeNull()
    expect(out.probeMisses).toBe(10)
  })
})
