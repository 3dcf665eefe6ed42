import { describe, expect, it } from 'vitest'
import { keys } from '../../../src/dify/keys.js'
import { RedisCheckpointStore, type CheckpointRedis } from '../../../src/vdb-migrate/checkpoint.js'

/** An in-memory HASH store with the three commands the Redis checkpoint store uses. */
function fakeRedis(): CheckpointRedis & { data: Map<string, Map<string, string>> } {
  const data = new Map<string, Map<string, string>>()
  return {
    data,
    async hget(k, f) {
      return data.get(k)?.get(f) ?? null
    },
    async hset(k, f, v) {
      const h = data.get(k) ?? new Map()
      const n = h.has(f) ? 0 : 1
      h.set(f, v)
      data.set(k, h)
      return n
    },
    async hdel(k, f) {
      const h = data.get(k)
      const n = h?.delete(f) ? 1 : 0
      if (h && !h.size) data.delete(k)
      return n
    },
  }
}

describe('RedisCheckpointStore', () => {
  const unit = '0b5e3c1a-0000-4000-8000-000000000001'
  const cp = {
    unitKind: 'dataset' as const,
    unitId: unit,
    targetKey: 'pgvector@postgresql://h:5432/db',
    targetCollection: 'Vector_index_x_Node',
    sourceKey: 'chroma@http://c/x',
    state: 'copying' as const,
    sourcePosition: 42,
    written: 40,
    detail: null,
  }

  it('keeps one HASH per unit under REDIS_KEY_PREFIX, one field per target, and round-trips every column', async () => {
    const r = fakeRedis()
    const s = new RedisCheckpointStore({ client: r, keyPrefix: 'p:' })
    expect(await s.get('dataset', unit, cp.targetKey)).toBeNull()
    await s.put(cp)
    await s.put({ ...cp, targetKey: 'chroma@http://other', sourcePosition: 7 })
    const key = `p:dify_ops:vdb_migrate:checkpoint:dataset:${unit}`
    expect(keys.vdbMigrateCheckpoint('dataset', unit, 'p:')).toBe(key)
    expect([...r.data.keys()]).toEqual([key])
    expect([...r.data.get(key)!.keys()]).toEqual([cp.targetKey, 'chroma@http://other'])
    const got = await s.get('dataset', unit, cp.targetKey)
    expect(got).toMatchObject(cp)
    expect(got!.updatedAt.getTime()).toBeGreaterThan(Date.now() - 60_000)
    expect(await s.get('annotation', unit, cp.targetKey)).toBeNull()
    await s.remove('dataset', unit, cp.targetKey)
    expect(await s.get('dataset', unit, cp.targetKey)).toBeNull()
    expect((await s.get('dataset', unit, 'chroma@http://other'))?.sourcePosition).toBe(7)
  })

  it('a damaged or foreign value reads as no checkpoint (the unit starts over)', async () => {
    const r = fakeRedis()
    const s = new RedisCheckpointStore({ client: r, keyPrefix: '' })
    await r.hset(keys.vdbMigrateCheckpoint('dataset', unit), cp.targetKey, 'not json')
    expect(await s.get('dataset', unit, cp.targetKey)).toBeNull()
    await r.hset(keys.vdbMigrateCheckpoint('dataset', unit), cp.targetKey, '{"state":1}')
    expect(await s.get('dataset', unit, cp.targetKey)).toBeNull()
  })
})
