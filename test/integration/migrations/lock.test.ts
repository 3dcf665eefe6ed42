import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../../src/core/db.js'
import type { OpenedRedis } from '../../../src/runtime/redis.js'
import { keys } from '../../../src/dify/keys.js'
import { RedisUpgradeLock, inspectRedisLock, clearRedisLock } from '../../../src/migrations/lock.js'
import { upgradeDb } from '../../../src/migrations/upgrade.js'
import type { RunEvent } from '../../../src/migrations/runner.js'
import { scratchRedis, type ScratchRedis } from '../../support/scratch.js'
import { scratchDb, synthRegistry, SYNTH_HEAD, versionsOf, type ScratchDb } from '../../support/migrations.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('upgrade locks (real Redis, real PostgreSQL)', () => {
  let redis: ScratchRedis
  let opened: OpenedRedis
  const scratches: ScratchDb[] = []
  const handles: Db[] = []
  let lockKey: string

  beforeAll(async () => {
    redis = await scratchRedis('lock')
    opened = { client: redis.client, keyPrefix: redis.prefix, describe: 'test', close: async () => {} }
    lockKey = keys.dbUpgradeLock(redis.prefix)
  })
  afterAll(async () => {
    for (const h of handles) await h.close().catch(() => {})
    for (const s of scratches) await s.drop().catch(() => {})
    await redis.drop()
  })
  async function fresh(tag: string) {
    const s = await scratchDb('postgres', tag)
    scratches.push(s)
    const db = await s.open()
    handles.push(db)
    return {
      s,
      db,
      deps: (o: Parameters<typeof synthRegistry>[0] = {}, withRedis = true) => ({
        db: async () => db,
        redis: withRedis ? async () => opened : undefined,
        database: s.name,
        revisions: synthRegistry(o),
        lockKeyPrefix: redis.prefix,
      }),
    }
  }

  it('takes the lock exactly as Dify does: SET NX PX 60000 with a 32-hex token; releases by compare-and-delete', async () => {
    const a = new RedisUpgradeLock(redis.client, redis.prefix)
    expect(a.key).toBe(`${redis.prefix}db_upgrade_lock`)
    expect(await a.tryAcquire()).toBe(true)
    expect(await redis.client.get(lockKey)).toBe(a.token)
    expect(a.token).toMatch(/^[0-9a-f]{32}$/)
    const ttl = await redis.client.pttl(lockKey)
    expect(ttl).toBeGreaterThan(58_000)
    expect(ttl).toBeLessThanOrEqual(60_000)
    const b = new RedisUpgradeLock(redis.client, redis.prefix)
    expect(await b.tryAcquire()).toBe(false)
    // only the owner releases it
    expect(await b.release()).toBe(false)
    expect(await redis.client.get(lockKey)).toBe(a.token)
    expect(await a.release()).toBe(true)
    expect(await redis.client.exists(lockKey)).toBe(0)
  })

  it('renewal keeps the lock past its TTL, and never extends a lock taken over by someone else', async () => {
    const a = new RedisUpgradeLock(redis.client, redis.prefix, { ttlMs: 600, renewEveryMs: 150 })
    expect(await a.tryAcquire()).toBe(true)
    await sleep(1500)
    expect(await redis.client.get(lockKey)).toBe(a.token)
    expect(a.renewals).toBeGreaterThan(3)
    expect(a.lost).toBe(false)
    // someone clears and re-takes the key: our renewal must not touch it and must notice the loss
    await redis.client.set(lockKey, 'someone-else', 'PX', 5000)
    await sleep(400)
    expect(a.lost).toBe(true)
    expect(await redis.client.get(lockKey)).toBe('someone-else')
    expect(await redis.client.pttl(lockKey)).toBeLessThanOrEqual(5000)
    expect(await a.release()).toBe(false)
    expect(await redis.client.get(lockKey)).toBe('someone-else')
    await redis.client.del(lockKey)
  })

  it("waits for a held lock, then migrates (showing the holder's TTL)", async () => {
    const { db, deps } = await fresh('wait')
    await redis.client.set(lockKey, 'dify-api-1', 'PX', 1200) // a Dify holder that finishes (expires) soon
    const events: RunEvent[] = []
    const t0 = Date.now()
    const r = await upgradeDb(deps(), { autoDirs: [], timeoutMs: 10_000, pollMs: 100, onEvent: (e) => events.push(e) })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
    expect(r.status).toBe('upgraded')
    expect(r.locks).toEqual({ redis: 'acquired', database: 'acquired' })
    const waits = events.filter((e) => e.type === 'wait')
    expect(waits.length).toBeGreaterThan(2)
    expect(waits[0]).toMatchObject({ lock: 'redis' })
    expect((waits[0] as { ttlMs: number }).ttlMs).toBeGreaterThan(0)
    expect(await versionsOf(db)).toEqual([SYNTH_HEAD])
    expect(await redis.client.exists(lockKey)).toBe(0) // released
  })

  it('when the holder finishes the work, the waiter exits successfully without migrating', async () => {
    const { db, deps } = await fresh('other')
    await redis.client.set(lockKey, 'dify-api-1', 'PX', 30_000)
    const waiter = upgradeDb(deps(), { autoDirs: [], timeoutMs: 10_000, pollMs: 100 })
    await sleep(300)
    // "the holder" migrates (database lock only), then releases Dify's lock
    const holder = await upgradeDb(deps({}, false), { autoDirs: [] })
    expect(holder.status).toBe('upgraded')
    await redis.client.del(lockKey)
    const r = await waiter
    expect(r).toMatchObject({ status: 'up-to-date', completedByOther: true, applied: [], to: SYNTH_HEAD })
    expect(await versionsOf(db)).toEqual([SYNTH_HEAD])
  })

  it('--no-wait exits 6 at once; a timeout exits 6; nothing is written', async () => {
    const { db, deps } = await fresh('busy')
    await redis.client.set(lockKey, 'dify-api-1', 'PX', 30_000)
    try {
      const t0 = Date.now()
      const e = await upgradeDb(deps(), { autoDirs: [], noWait: true }).catch((x) => x)
      expect(e.exitCode).toBe(6)
      expect(e.message).toContain('--no-wait')
      expect(Date.now() - t0).toBeLessThan(2000)
      const t1 = Date.now()
      const t = await upgradeDb(deps(), { autoDirs: [], timeoutMs: 1000, pollMs: 100 }).catch((x) => x)
      expect(t.exitCode).toBe(6)
      expect(t.message).toMatch(/Gave up after 1 s/)
      expect(Date.now() - t1).toBeGreaterThanOrEqual(1000)
      expect(await versionsOf(db)).toBeNull()
      expect(await redis.client.get(lockKey)).toBe('dify-api-1') // never touched
    } finally {
      await redis.client.del(lockKey)
    }
  })

  it('the database lock serialises runs without Redis', async () => {
    const { db, deps } = await fresh('dblock')
    const runs = await Promise.all(
      [0, 1, 2].map(() =>
        upgradeDb(deps({ slow: { revision: '03ea244985ce', seconds: 0.3 } }, false), { autoDirs: [], pollMs: 50 }),
      ),
    )
    expect(runs.filter((r) => r.status === 'upgraded').length).toBe(1)
    expect(runs.filter((r) => r.status === 'up-to-date').length).toBe(2)
    expect(await versionsOf(db)).toEqual([SYNTH_HEAD])
  })

  it('the database lock serialises runs on MariaDB too (GET_LOCK)', async () => {
    const s = await scratchDb('mysql', 'getlock')
    scratches.push(s)
    const db = await s.open()
    handles.push(db)
    const d = {
      db: async () => db,
      database: s.name,
      revisions: synthRegistry({ slow: { revision: '03ea244985ce', seconds: 0.3 } }),
    }
    const runs = await Promise.all([0, 1].map(() => upgradeDb(d, { autoDirs: [], pollMs: 50 })))
    expect(runs.map((r) => r.status).sort()).toEqual(['up-to-date', 'upgraded'])
    expect(await versionsOf(db)).toEqual([SYNTH_HEAD])
  })

  it('Redis unreachable: warns and continues with the database lock', async () => {
    const { db, deps } = await fresh('noredis')
    const events: RunEvent[] = []
    const d = {
      ...deps(),
      redis: () => Promise.reject(new Error('Cannot connect to Redis at 127.0.0.1:1: connection refused.')),
    }
    const r = await upgradeDb(d, { autoDirs: [], onEvent: (e) => events.push(e) })
    expect(r.status).toBe('upgraded')
    expect(r.locks.redis).toBe('unavailable')
    expect(events.find((e) => e.type === 'warn')).toMatchObject({
      message: expect.stringContaining('database lock only'),
    })
    expect(await versionsOf(db)).toEqual([SYNTH_HEAD])
  })

  it('an interrupt (SIGINT) stops after the current revision and releases the locks; while waiting it stops at once', async () => {
    const { db, deps } = await fresh('sigint')
    const ac = new AbortController()
    const run = upgradeDb(deps({ slow: { revision: '03ea244985ce', seconds: 0.8 } }), {
      autoDirs: [],
      signal: ac.signal,
    })
    await sleep(400)
    ac.abort()
    const e = await run.catch((x) => x)
    expect(e.exitCode).toBe(130)
    expect(e.message).toContain('after revision 03ea244985ce')
    expect(await versionsOf(db)).toEqual(['03ea244985ce'])
    expect(await redis.client.exists(lockKey)).toBe(0)
    await redis.client.set(lockKey, 'dify-api-1', 'PX', 30_000)
    try {
      const ac2 = new AbortController()
      const waiting = upgradeDb(deps(), { autoDirs: [], pollMs: 50, signal: ac2.signal })
      await sleep(200)
      ac2.abort()
      expect((await waiting.catch((x) => x)).exitCode).toBe(130)
      expect(await versionsOf(db)).toEqual(['03ea244985ce'])
    } finally {
      await redis.client.del(lockKey)
    }
  })

  it('a lock lost during the run stops after the current revision with an error', async () => {
    const { db, deps } = await fresh('lost')
    const run = upgradeDb(deps({ slow: { revision: '03ea244985ce', seconds: 1 } }), {
      autoDirs: [],
      redisLock: { ttlMs: 3000, renewEveryMs: 100 },
    })
    await sleep(500)
    await clearRedisLock(redis.client, redis.prefix) // an operator ran `db lock clear` while we migrate
    const e = await run.catch((x) => x)
    expect(e.exitCode).toBe(1)
    expect(e.message).toContain('Stopped after revision 03ea244985ce')
    expect(e.message).toContain('lost')
    expect(await versionsOf(db)).toEqual(['03ea244985ce'])
    expect((await inspectRedisLock(redis.client, redis.prefix)).held).toBe(false)
  })
})
