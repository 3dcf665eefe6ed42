/**
 * `purgeTask` (src/queues/purge.ts + purge-lua.ts) on the real Redis, in-process: exact removal, order kept, no
 * tombstone left, --dry-run writes nothing, and — with a producer LPUSHing and a consumer BRPOPping the same lists
 * while the purge runs (kombu's wire behaviour) — no other message is lost or duplicated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
import { scratchRedis, type ScratchRedis } from '../../support/scratch.js'
import { REDIS } from '../../support/services.js'
import { purgeTask, countPurge } from '../../../src/queues/purge.js'
import { queueLists, type Broker } from '../../../src/queues/broker.js'
import { tombstoneFor } from '../../../src/queues/purge-lua.js'
import { celeryEnv, produce, startWorker, waitFor } from '../../support/celery.js'

const T = 'tasks.purge_me'
const OTHER = 'tasks.keep_me'
let s: ScratchRedis
let broker: Redis
let b: Broker

/** A protocol-2 kombu envelope; `seq` is kept in the id so order can be checked. */
function msg(seq: number, task: string): string {
  const body = Buffer.from(
    JSON.stringify([[], { seq }, { callbacks: null, errbacks: null, chain: null, chord: null }]),
  ).toString('base64')
  const id = `${String(seq).padStart(8, '0')}-${randomUUID()}`
  return JSON.stringify({
    body,
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: { lang: 'py', task, id },
    properties: { delivery_tag: randomUUID(), body_encoding: 'base64', priority: 0 },
  })
}
const seqOf = (raw: string): number => Number(/"id":"(\d{8})-/.exec(raw)?.[1] ?? -1)
const taskOf = (raw: string): string | null => /"task":"([^"]+)"/.exec(raw)?.[1] ?? null

beforeAll(async () => {
  s = await scratchRedis('purgetask')
  broker = new Redis({ ...REDIS, db: 1 })
  b = { client: broker, prefix: s.prefix, db: 1 }
})
afterAll(async () => {
  broker?.disconnect()
  await s?.drop()
})

async function fill(key: string, values: string[]): Promise<void> {
  for (let i = 0; i < values.length; i += 1000) await broker.lpush(key, ...values.slice(i, i + 1000))
}

describe('queue purge --task', () => {
  it('removes exactly the matching messages of every priority list, keeps the order, leaves no tombstone', async () => {
    const q = 'static'
    const lists = queueLists(b, q)
    const expected = new Map<string, string[]>()
    let seq = 0
    for (const [li, l] of lists.entries()) {
      const vals: string[] = []
      const n = [3001, 17, 0, 1000][li]!
      for (let i = 0; i < n; i++) vals.push(msg(seq++, (i * 7 + li) % 3 === 0 ? T : OTHER))
      // hostile neighbours: not JSON, and the same non-matching payload twice
      if (n) vals.push('not json', 'not json')
      await fill(l.key, vals)
      expected.set(l.key, vals.filter((v) => taskOf(v) !== T).reverse())
    }
    const before = await broker.dbsize()
    const dry = await countPurge(b, q, T, { chunk: 64 })
    expect(await broker.dbsize()).toBe(before)
    // a tombstone left by a crashed run, in the middle of the bare list: removed too, not counted
    const bare = lists[0]!.key
    await broker.linsert(bare, 'BEFORE', (await broker.lindex(bare, 1500))!, tombstoneFor(q))
    for (const [chunk, batch, budgetMs, sweepEvery] of [
      [64, 5, 10, 50],
      [7, 3, 0, 1],
    ] as const) {
      const r = await purgeTask(b, q, T, { chunk, batch, budgetMs, sweepEvery })
      if (chunk === 64) {
        expect(r.removed).toBe(dry.removed)
        expect(r.removed).toBeGreaterThan(1000)
        expect(r.byPriority).toEqual(dry.byPriority)
      } else expect(r.removed).toBe(0)
      for (const [key, vals] of expected) expect(await broker.lrange(key, 0, -1)).toEqual(vals)
    }
  })

  it('--dry-run (countPurge) changes nothing', async () => {
    const key = queueLists(b, 'dry')[0]!.key
    const vals = Array.from({ length: 500 }, (_, i) => msg(i, i % 2 ? T : OTHER))
    await fill(key, vals)
    const r = await purgeTask(b, 'dry', T, { dryRun: true, chunk: 50 })
    expect(r).toMatchObject({ removed: 250, dryRun: true })
    expect(await broker.lrange(key, 0, -1)).toEqual([...vals].reverse())
  })

  // the second setting makes bursts (up to 300) much bigger than a chunk: the anchor is often found at the very end
  // of a read, or not at all (LPOS fallback)
  for (const [chunk, batch, budgetMs, sweepEvery] of [
    [97, 11, 1, 40],
    [16, 4, 0, 7],
  ] as const)
    it(`with a producer (LPUSH, bursts) and a consumer (BRPOP) running, nothing else is lost or duplicated (chunk ${chunk})`, async () => {
      const q = `busy${chunk}`
      const lists = queueLists(b, q)
      const key = lists[0]!.key
      const initial = Array.from({ length: 6000 }, (_, i) => msg(i, i % 3 === 0 ? T : OTHER))
      await fill(key, initial)
      let seq = initial.length
      const produced: string[] = []
      const consumed: string[] = []
      let stop = false
      const prod = new Redis({ ...REDIS, db: 1 })
      const cons = new Redis({ ...REDIS, db: 1 })
      const producer = (async () => {
        while (!stop) {
          // bursts of 1..300 messages (bigger than the 64-element slack and than some chunks)
          const n = 1 + Math.floor(Math.random() * 300)
          const vals = Array.from({ length: n }, () => msg(seq++, Math.random() < 0.33 ? T : OTHER))
          produced.push(...vals)
          await prod.lpush(key, ...vals)
          await new Promise((r) => setTimeout(r, Math.random() * 4))
        }
      })()
      const consumer = (async () => {
        while (!stop) {
          const r = await cons.brpop(...lists.map((l) => l.key), 0.05)
          if (r) consumed.push(r[1])
        }
      })()
      await new Promise((r) => setTimeout(r, 50))
      const res = await purgeTask(b, q, T, { chunk, batch, budgetMs, sweepEvery })
      stop = true
      await Promise.all([producer, consumer])
      prod.disconnect()
      cons.disconnect()
      const remaining = await broker.lrange(key, 0, -1)
      const count = new Map<string, number>()
      // a worker may take a tombstone between its mark and the LREM (it drops it: see the Celery test below)
      const tomb = tombstoneFor(q)
      for (const v of [...consumed, ...remaining]) if (v !== tomb) count.set(v, (count.get(v) ?? 0) + 1)
      let gone = 0
      for (const v of [...initial, ...produced]) {
        const c = count.get(v) ?? 0
        if (taskOf(v) === T) {
          expect(c).toBeLessThanOrEqual(1)
          if (!c) gone++
        } else expect(c, `message ${seqOf(v)} seen ${c} times`).toBe(1)
      }
      // every removal was a matching message, each counted once
      expect(res.removed).toBe(gone)
      // every matching message that was there when the purge started is removed or consumed
      const left = initial.filter((v) => taskOf(v) === T && remaining.includes(v))
      expect(left.map((v) => `${seqOf(v)}@${remaining.indexOf(v)}/${remaining.length}`)).toEqual([])
      // nothing foreign (tombstones) in the list, and the order is the push order
      expect(remaining.every((v) => seqOf(v) >= 0)).toBe(true)
      for (let i = 1; i < remaining.length; i++) expect(seqOf(remaining[i - 1]!)).toBeGreaterThan(seqOf(remaining[i]!))
      expect(produced.length).toBeGreaterThan(100)
      expect(consumed.length).toBeGreaterThan(10)
    }, 60_000)

  it('a real Celery worker that takes a tombstone drops it and goes on with the next task', async () => {
    const c = celeryEnv(s.prefix)
    const w = await startWorker(c, ['dataset'])
    try {
      const key = queueLists(b, 'dataset')[0]!.key
      await broker.lpush(key, tombstoneFor('dataset'))
      await waitFor(async () => (await broker.llen(key)) === 0, 20_000)
      produce(c, [{ task: 'tasks.record', args: ['after-tombstone'], options: { queue: 'dataset' } }])
      await waitFor(
        async () => (await broker.lrange(`${s.prefix}ran`, 0, -1)).includes('after-tombstone'),
        20_000,
        'the next task',
      )
      await waitFor(
        () => /Received and deleted unknown message/.test(w.log()),
        10_000,
        'the worker to report the dropped tombstone',
      )
      expect(await broker.hlen(`${s.prefix}unacked`)).toBe(0)
    } finally {
      await w.stop()
    }
  }, 60_000)
})
