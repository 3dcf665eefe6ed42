/**
 * restore-unacked against a real Celery worker killed with SIGKILL: its reserved (ETA and prefetched) messages are
 * put back once, byte-for-byte as kombu would, and the next worker runs each exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { Redis } from 'ioredis'
import { runCli } from '../../support/cli.js'
import { scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { alembicOnlyDb } from '../../support/release-db.js'
import { PYTHON, REDIS } from '../../support/services.js'
import {
  CELERY_DIR,
  celeryEnv,
  produce,
  startWorker,
  waitFor,
  type CeleryEnv,
  type Worker,
} from '../../support/celery.js'

let s: ScratchRedis
/** writing commands check the Dify release of the metadata database */
let db: Scratch
let c: CeleryEnv
let broker: Redis
const workers: Worker[] = []
const SEP = '\x06\x16'

beforeAll(async () => {
  s = await scratchRedis('queuerestore')
  db = await alembicOnlyDb('queuerestore')
  c = celeryEnv(s.prefix)
  broker = new Redis({ ...REDIS, db: 1 })
})

afterAll(async () => {
  for (const w of workers) await w.stop()
  broker?.disconnect()
  await s?.drop()
  await db?.drop()
})

const cli = (args: string[]) => runCli(['queue', ...args], { env: { ...s.env, ...db.env } })

describe('restore-unacked after SIGKILL', () => {
  it('puts reserved messages back once; the next worker runs each exactly once', async () => {
    const w1 = await startWorker(c, ['dataset'], { concurrency: 1 })
    workers.push(w1)
    const [idA] = produce(c, [
      { task: 'tasks.record', args: ['a'], kwargs: { sleep: 30 }, options: { queue: 'dataset' } },
    ])
    await waitFor(
      async () => (await broker.llen(`${s.prefix}dataset`)) === 0 && (await broker.hlen(`${s.prefix}unacked`)) === 0,
      15_000,
      'a to start',
    )
    produce(c, [
      { task: 'tasks.record', args: ['b'], options: { queue: 'dataset', countdown: 3 } },
      { task: 'tasks.record', args: ['c'], options: { queue: 'dataset', countdown: 3 } },
      { task: 'tasks.record', args: ['d'], options: { queue: 'dataset' } },
    ])
    await waitFor(async () => (await broker.hlen(`${s.prefix}unacked`)) >= 2, 15_000, 'ETA tasks reserved')
    await new Promise((r) => setTimeout(r, 300))

    // while the worker lives, the messages it holds are left alone
    const live = await cli(['restore-unacked', '--older-than', '0', '--yes', '--json'])
    expect(live.code, live.stderr).toBe(0)
    expect(live.json.counts.restored).toBe(0)
    expect(live.json.counts.heldByLiveWorkers).toBeGreaterThanOrEqual(2)
    expect(live.json.liveWorkers).toEqual([w1.node])

    await w1.kill()
    const held = await broker.hlen(`${s.prefix}unacked`)
    const waiting = await broker.llen(`${s.prefix}dataset`)
    expect(held + waiting).toBe(3) // b, c and d: reserved or still waiting; a was running (acked) and is lost

    const u = await cli(['unacked', '--json'])
    expect(u.json.total).toBe(held)
    expect(
      u.json.entries.every(
        (e: { queue: string; task: string; ageSeconds: number }) =>
          e.queue === 'dataset' && e.task === 'tasks.record' && e.ageSeconds >= 0,
      ),
    ).toBe(true)
    expect((await cli(['unacked', '--older-than', '1h', '--json'])).json.total).toBe(0)
    // the default --older-than is the visibility timeout: nothing is that old
    expect((await cli(['restore-unacked', '--yes', '--json'])).json.counts.restored).toBe(0)

    const values = await broker.hvals(`${s.prefix}unacked`)
    const expectedPayloads = JSON.parse(
      execFileSync(PYTHON, ['restore_payload.py'], {
        cwd: CELERY_DIR,
        input: JSON.stringify(values),
        encoding: 'utf8',
      }),
    ) as string[]

    const dry = await cli(['restore-unacked', '--older-than', '0', '--dry-run', '--json'])
    expect(dry.json.counts.restored).toBe(held)
    expect(await broker.hlen(`${s.prefix}unacked`)).toBe(held)
    expect(await broker.llen(`${s.prefix}dataset`)).toBe(waiting)

    const r = await cli(['restore-unacked', '--older-than', '0', '--yes', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.counts).toMatchObject({ restored: held, skipped: 0, gone: 0 })
    expect(await broker.hlen(`${s.prefix}unacked`)).toBe(0)
    expect(await broker.zcard(`${s.prefix}unacked_index`)).toBe(0)
    expect(await broker.exists(`${s.prefix}unacked_mutex`)).toBe(0)
    const list = await broker.lrange(`${s.prefix}dataset`, 0, -1)
    expect(list).toHaveLength(3)
    // byte-for-byte what kombu pushes, at the consuming end (RPUSH)
    expect(list.slice(list.length - held).sort()).toEqual([...expectedPayloads].sort())

    const again = await cli(['restore-unacked', '--older-than', '0', '--yes', '--json'])
    expect(again.json.counts.restored).toBe(0)
    expect(await broker.llen(`${s.prefix}dataset`)).toBe(3)

    const w2 = await startWorker(c, ['dataset'])
    workers.push(w2)
    await waitFor(async () => (await broker.llen(`${s.prefix}ran`)) >= 3, 20_000, 'b, c, d to run')
    await new Promise((r) => setTimeout(r, 1500))
    const ran = await broker.lrange(`${s.prefix}ran`, 0, -1)
    expect(ran.sort()).toEqual(['b', 'c', 'd'])
    expect(idA).toBeTruthy()
  })
})

describe('restore details', () => {
  it('a priority message goes back to its priority list; a message without a route stays in unacked', async () => {
    const env = (tag: string, priority: number, rk: string, exchange = '') =>
      JSON.stringify([
        {
          body: Buffer.from('[[], {}, {}]').toString('base64'),
          'content-encoding': 'utf-8',
          'content-type': 'application/json',
          headers: { task: 'tasks.x', id: `id-${tag}`, eta: null, retries: 0, timelimit: [null, 1.0] },
          properties: {
            priority,
            body_encoding: 'base64',
            delivery_tag: tag,
            delivery_info: { exchange, routing_key: rk },
          },
        },
        exchange,
        rk,
      ]).replace('"timelimit":[null,1]', '"timelimit":[null,1.0]')
    const now = Date.now() / 1000
    await broker.hset(
      `${s.prefix}unacked`,
      'tag-p',
      env('tag-p', 7, 'prioq'),
      'tag-x',
      env('tag-x', 0, 'nowhere', 'noexchange'),
    )
    await broker.zadd(`${s.prefix}unacked_index`, now - 7200, 'tag-p', now - 7200, 'tag-x', now - 7200, 'tag-dangling')
    const r = await cli(['restore-unacked', '--yes', '--timeout', '0', '--json'])
    // tag-x cannot be restored (no route): a partial write, exit 7, with the full report
    expect(r.code, r.stderr).toBe(7)
    const by = Object.fromEntries(
      r.json.results.map((x: { deliveryTag: string; outcome: string }) => [x.deliveryTag, x.outcome]),
    )
    expect(by).toEqual({ 'tag-p': 'restored', 'tag-x': 'skipped', 'tag-dangling': 'cleaned' })
    const pushed = await broker.lrange(`${s.prefix}prioq${SEP}6`, 0, -1)
    expect(pushed).toHaveLength(1)
    // Python json.dumps layout, float literal kept
    expect(pushed[0]).toContain('"timelimit": [null, 1.0]')
    expect(pushed[0]).toContain('"redelivered": true')
    expect(await broker.hkeys(`${s.prefix}unacked`)).toEqual(['tag-x'])
    expect(await broker.zrange(`${s.prefix}unacked_index`, 0, -1)).toEqual(['tag-x'])
    // a held mutex means a worker is restoring: exit 6, nothing touched
    await broker.set(`${s.prefix}unacked_mutex`, 'someone', 'PX', 5000)
    await broker.hset(`${s.prefix}unacked`, 'tag-q', env('tag-q', 0, 'q2'))
    await broker.zadd(`${s.prefix}unacked_index`, now - 7200, 'tag-q')
    const busy = await cli(['restore-unacked', '--yes', '--timeout', '0'])
    expect(busy.code).toBe(6)
    expect(await broker.hexists(`${s.prefix}unacked`, 'tag-q')).toBe(1)
  })
})
