import { describe, expect, it } from 'vitest'
import { indexStructJson } from '../../../src/dify/collections.js'
import { resolveUnit, sameVector } from '../../../src/vdb-migrate/migrate.js'
import { inShard, parseShard, shardOf } from '../../../src/vdb-migrate/select.js'
import { totalsOf } from '../../../src/vdb-migrate/run.js'
import type { Unit } from '../../../src/vdb-migrate/types.js'

const id = '3f2a0000-1111-2222-3333-444455556666'
const unit = (o: Partial<Unit> = {}): Unit => ({
  kind: 'dataset',
  id,
  tenantId: 't',
  name: 'n',
  model: 'm',
  provider: 'p',
  indexStruct: indexStructJson('pgvector', `Vector_index_${id.replace(/-/g, '_')}_Node`),
  collectionBindingId: 'b',
  bindingCollection: 'Vector_index_shared_Node',
  liveTarget: {} as never,
  ...o,
})

describe('resolveUnit: where vectors come from and go (Dify naming)', () => {
  it('pgvector → chroma: lower-cased class_prefix, source from index_struct', () => {
    const r = resolveUnit(unit(), 'chroma', {}, 'Vector_index')
    expect(r.target).toEqual({ collection: `vector_index_${id.replace(/-/g, '_')}_node` })
    expect(r.source).toEqual({ type: 'pgvector', target: { collection: `Vector_index_${id.replace(/-/g, '_')}_Node` } })
  })
  it('→ qdrant: the binding collection with group_id; no binding id: the generated name (Dify); a dangling binding id fails', () => {
    expect(resolveUnit(unit(), 'qdrant', {}, 'Vector_index').target).toEqual({
      collection: 'Vector_index_shared_Node',
      groupId: id,
    })
    const unbound = resolveUnit(
      unit({ collectionBindingId: null, bindingCollection: null }),
      'qdrant',
      {},
      'Vector_index',
    )
    expect(unbound.skip).toBeUndefined()
    expect(unbound.fail).toBeUndefined()
    expect(unbound.target).toEqual({ collection: `Vector_index_${id.replace(/-/g, '_')}_Node`, groupId: id })
    expect(unbound.classPrefix).toBe(`Vector_index_${id.replace(/-/g, '_')}_Node`)
    const dangling = resolveUnit(unit({ bindingCollection: null }), 'qdrant', {}, 'Vector_index')
    expect(dangling.fail).toMatch(/Binding not found/)
    expect(dangling.skip).toBeUndefined()
  })
  it('no index_struct: migrated in place in VECTOR_STORE under the generated name (Dify migrates it and writes index_struct)', () => {
    for (const [store, coll] of [
      ['pgvector', `Vector_index_${id.replace(/-/g, '_')}_Node`],
      ['chroma', `vector_index_${id.replace(/-/g, '_')}_node`],
    ] as const) {
      const r = resolveUnit(unit({ indexStruct: null }), store, {}, 'Vector_index')
      expect(r.skip).toBeUndefined()
      expect(r.source).toBeNull()
      expect(r.target.collection).toBe(coll)
      expect(r.classPrefix).toBe(coll)
    }
    // with --from, the generated name in the --from store is the source
    expect(resolveUnit(unit({ indexStruct: null }), 'chroma', { from: 'pgvector' }, 'Vector_index').source).toEqual({
      type: 'pgvector',
      target: { collection: `Vector_index_${id.replace(/-/g, '_')}_Node` },
    })
  })
  it('already on the target type: skipped unless --from names the source', () => {
    expect(resolveUnit(unit(), 'pgvector', {}, 'Vector_index').skip).toMatch(/already on pgvector/)
    expect(resolveUnit(unit(), 'pgvector', { from: 'pgvector' }, 'Vector_index').source?.type).toBe('pgvector')
    expect(resolveUnit(unit(), 'chroma', { from: 'qdrant' }, 'Vector_index').skip).toMatch(/not --from qdrant/)
  })
  it('unsupported targets fail the unit; annotations read the --from store or only the cache', () => {
    expect(resolveUnit(unit(), 'lindorm', {}, 'Vector_index').fail).toMatch(/does not support/)
    const ann = unit({ kind: 'annotation', indexStruct: null })
    expect(resolveUnit(ann, 'pgvector', {}, 'Vector_index').source).toBeNull()
    expect(resolveUnit(ann, 'pgvector', { from: 'chroma' }, 'Vector_index').source?.target.collection).toBe(
      `vector_index_${id.replace(/-/g, '_')}_node`,
    )
  })
  it('honours VECTOR_INDEX_NAME_PREFIX', () => {
    expect(resolveUnit(unit(), 'chroma', {}, 'Custom').target.collection).toBe(`custom_${id.replace(/-/g, '_')}_node`)
  })
})

describe('shards', () => {
  it('parses i/n and partitions ids', () => {
    expect(parseShard('1/3')).toEqual({ index: 1, count: 3 })
    expect(parseShard('3/3')).toBeNull()
    expect(parseShard('x')).toBeNull()
    expect(parseShard(undefined)).toBeUndefined()
    const ids = Array.from({ length: 300 }, (_, i) => `${i.toString(16).padStart(8, '0')}-0000-0000-0000-000000000000`)
    const counts = [0, 0, 0]
    for (const x of ids) {
      counts[shardOf(x, 3)]!++
      expect([0, 1, 2].filter((i) => inShard(x, { index: i, count: 3 }))).toHaveLength(1)
    }
    expect(counts).toEqual([100, 100, 100])
  })
})

describe('sameVector / totals', () => {
  it('equal within float32 rounding', () => {
    expect(sameVector([0.1, 0.2], [Math.fround(0.1), Math.fround(0.2)])).toBe(true)
    expect(sameVector([0.1, 0.2], [0.1, 0.21])).toBe(false)
    expect(sameVector([0.1], [0.1, 0])).toBe(false)
  })
  it('totals count outcomes', () => {
    const t = totalsOf([
      { outcome: 'migrated', live: 2, fromSource: 1, fromCache: 1, missing: 0, orphans: 3, written: 2 } as never,
      { outcome: 'failed', live: 1, fromSource: 0, fromCache: 0, missing: 1, orphans: 0, written: 0 } as never,
    ])
    expect(t).toMatchObject({ units: 2, migrated: 1, failed: 1, live: 3, orphans: 3, missing: 1 })
  })
})
