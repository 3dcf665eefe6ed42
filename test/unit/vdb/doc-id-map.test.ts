import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DocIdMap, DocIdSet } from '../../../src/vdb/doc-id-map.js'

describe('DocIdMap', () => {
  it('behaves like a Map<string, boolean> for UUIDs and other ids, across growth', () => {
    const m = new DocIdMap(4)
    const ref = new Map<string, boolean>()
    const ids = Array.from({ length: 5000 }, (_, i) =>
      i % 10 === 0 ? `node-${i}` : i % 7 === 0 ? randomUUID().toUpperCase() : randomUUID(),
    )
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
    expect([...m.unseen()].sort()).toEqual(
      [...ref]
        .filter(([, seen]) => !seen)
        .map(([id]) => id)
        .sort(),
    )
  })
})

describe('DocIdMap memory', () => {
  it('holds 200 000 UUIDs in at most 32 bytes each, every one found, none invented', () => {
    const m = new DocIdMap()
    const ids = Array.from({ length: 200_000 }, () => randomUUID())
    for (const id of ids) m.set(id, false)
    expect(m.size).toBe(200_000)
    // 17 bytes per slot, tables 53–80 % full
    expect(m.tableBytes).toBeLessThanOrEqual(32 * 200_000)
    for (const id of ids.slice(0, 1000)) expect(m.get(id)).toBe(false)
    for (let i = 0; i < 1000; i++) expect(m.get(randomUUID())).toBeUndefined()
    for (const id of ids) m.set(id, true)
    expect([...m.unseen()]).toEqual([])
  })
})

describe('DocIdSet', () => {
  it('behaves like a Set<string> (has, add, size, iteration) for UUIDs and other ids', () => {
    const ids = [...Array.from({ length: 5000 }, () => randomUUID()), 'not-a-uuid', 'ABC', '']
    const s = new DocIdSet(ids.slice(0, 100))
    for (const id of ids.slice(100)) s.add(id).add(id)
    expect(s.size).toBe(ids.length)
    for (const id of ids) expect(s.has(id)).toBe(true)
    expect(s.has(randomUUID())).toBe(false)
    expect(s.has(ids[0]!.toUpperCase())).toBe(false)
    expect(new Set(s)).toEqual(new Set(ids))
  })
})
