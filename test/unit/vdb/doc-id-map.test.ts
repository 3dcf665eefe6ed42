import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DocIdMap } from '../../../src/vdb/doc-id-map.js'

describe('DocIdMap', () => {
  it('behaves like a Map<string, boolean> for UUIDs and other ids, across growth', () => {
    const m = new DocIdMap(4)
    const ref = new Map<string, boolean>()
    const ids = Array.from({ length: 5000 }, (_, i) => (i % 10 === 0 ? `node-${i}` : i % 7 === 0 ? randomUUID().toUpperCase() : randomUUID()))
    for (const id of ids) {
      m.set(id, false)
      ref.set(id, false)
    }
    for (const id of ids.slice(0, 2500)) {
      m.set(id, true)
      ref.set(id, true)
    }
    expect(m.size).toBe(ref.size)
    for (const id of ids) expect(m.get(id)).toBe(ref.get(id))
    expect(m.get(randomUUID())).toBeUndefined()
    expect(m.has('nope')).toBe(false)
    expect(new Map(m.entries())).toEqual(ref)
    expect([...m.unseen()].sort()).toEqual([...ref].filter(([, seen]) => !seen).map(([id]) => id).sort())
  })
})
