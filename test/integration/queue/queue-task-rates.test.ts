/**
 * `dify queue task ID` in every place a task can be, and `queue list --watch` rates, against a real Celery 5.2.6
 * worker (Debian python3-celery) on the local Redis, isolated by this file's kombu global_keyprefix. One worker,
 * concurrency 1, consuming "dataset" only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { BIN, runCli } from '../../support/cli.js'
import { scratchRedis, type ScratchRedis } from '../../support/scratch.js'
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
import { RateTracker } from '../../../src/queues/rates.js'
import { queueStats } from '../../../src/queues/peek.js'

let s: ScratchRedis
let c: CeleryEnv
let w: Worker
let broker: Redis
const SEP = '\x06\x16'

beforeAll(async () => {
  s = await scratchRedis('queuetask')
  c = celeryEnv(s.prefix)
  broker = new Redis({ ...REDIS, db: 1 })
  w = await startWorker(c, ['dataset'], { concurrency: 1 })
})

afterAll(async () => {
  await w?.stop()
  broker?.disconnect()
  await s?.drop()
})

const cli = (args: string[]) => runCli(['queue', ...args], { env: s.env })

/** A Celery-layout message (as kombu stores it) for filling lists without a Python round trip per message. */
function filler(i: number, queue: string): string {
  const id = randomUUID()
  const body = Buffer.from('[[], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]').toString(
    'base64',
  )
  return `{"body": "${body}", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py", "task": "tasks.filler", "id": "${id}", "shadow": null, "eta": null, "expires": null, "group": null, "group_index": null, "retries": 0, "timelimit": [null, null], "root_id": "${id}", "parent_id": null, "argsrepr": "(${i},)", "kwargsrepr": "{}", "origin": "gen1@test", "ignore_result": true}, "properties": {"correlation_id": "${id}", "reply_to": "r", "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "${queue}"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "${randomUUID()}"}}`
}

describe('queue task ID', () => {
  it("(a) a result record written by Celery's redis result backend", async () => {
    const id = randomUUID()
    const key = execFileSync(PYTHON, ['store_result.py'], {
      cwd: CELERY_DIR,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        DOPS_BROKER_URL: c.brokerUrl,
        DOPS_KEYPREFIX: c.keyPrefix,
        PYTHONDONTWRITEBYTECODE: '1',
      },
      input: JSON.stringify({ id, state: 'SUCCESS', result: { rows: 5 } }),
      encoding: 'utf8',
    }).trim()
    expect(key).toBe(`${s.prefix}celery-task-meta-${id}`)
    const r = await cli(['task', id, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({
      id,
      where: 'result',
      result: { status: 'SUCCESS', result: { rows: 5 }, task_id: id },
    })
    const h = await cli(['task', id])
    expect(h.stdout).toMatch(new RegExp(`^${id}: result record, status SUCCESS at \\d{4}-`))
  })

  it('(b) an ETA message reserved by the worker is found in "unacked" (with or without asking the workers)', async () => {
    const [id] = produce(c, [
      { task: 'tasks.build_dataset', args: ['eta'], options: { queue: 'dataset', countdown: 600 } },
    ])
    await waitFor(async () => (await broker.hlen(`${s.prefix}unacked`)) === 1, 15_000, 'the ETA message to be reserved')
    const r = await cli(['task', id!, '--json', '--timeout', '0'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({
      id,
      where: 'unacked',
      queue: 'dataset',
      workersAsked: 0,
      message: { task: 'tasks.build_dataset', id },
    })
    expect(Date.parse(r.json.reservedAt)).toBeGreaterThan(Date.now() - 60_000)
    expect(Date.parse(r.json.message.eta)).toBeGreaterThan(Date.now() + 500_000)
    const h = await cli(['task', id!, '--timeout', '0'])
    expect(h.stdout).toContain(`${id}: reserved by a worker since`)
    expect(h.stdout).toContain('(unacked), queue dataset, task tasks.build_dataset, eta ')
    // Celery 5.2.6's query_task only knows requests that are due (an ETA request waits in the timer until then):
    // the live worker does not claim it, and the unacked hash answers
    const live = await cli(['task', id!, '--json', '--timeout', '5'])
    expect(live.json).toMatchObject({ where: 'unacked', queue: 'dataset', workersAsked: 1 })
  })

  it('(c) a message waiting in a queue, with its position across LRANGE chunks and in a priority list', async () => {
    // 2 100 older messages first (consumed before it), then the task: position 2 101, past the first 2 000 chunk
    const key = `${s.prefix}ops_trace`
    for (let i = 0; i < 2100; i += 300)
      await broker.lpush(key, ...Array.from({ length: 300 }, (_, k) => filler(i + k, 'ops_trace')))
    const [id, later, prio] = produce(c, [
      { task: 'tasks.send_mail', args: ['x@example.com', 'deep'], options: { queue: 'ops_trace' } },
      { task: 'tasks.send_mail', args: ['y@example.com', 'after'], options: { queue: 'ops_trace' } },
      { task: 'tasks.send_mail', args: ['z@example.com', 'prio'], options: { queue: 'ops_trace', priority: 6 } },
    ])
    const r = await cli(['task', id!, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({
      where: 'queue',
      queue: 'ops_trace',
      priority: 0,
      position: 2101,
      message: { id, task: 'tasks.send_mail' },
    })
    expect((await cli(['task', later!, '--json'])).json).toMatchObject({ where: 'queue', position: 2102 })
    expect((await cli(['task', prio!, '--json'])).json).toMatchObject({
      where: 'queue',
      queue: 'ops_trace',
      priority: 6,
      position: 1,
    })
    expect(await broker.llen(`${key}${SEP}6`)).toBe(1)
    const h = await cli(['task', id!])
    expect(h.stdout).toContain(
      `${id}: waiting in queue ops_trace (priority list 0), position 2101, task tasks.send_mail`,
    )
    // the same queue counted by stats with the raw reader: 22 replies of 100, 3 in flight, every message once
    const st = await cli(['stats', 'ops_trace', '--chunk', '100', '--json'])
    expect(st.code, st.stderr).toBe(0)
    expect(st.json).toMatchObject({ scanned: 2103, malformed: 0, byPriority: { '0': 2102, '3': 0, '6': 1, '9': 0 } })
    expect(st.json.tasks.map((t: { task: string; count: number }) => [t.task, t.count])).toEqual([
      ['tasks.filler', 2100],
      ['tasks.send_mail', 3],
    ])
    // when the raw reader cannot open its connection, the same counts come through ioredis
    const client = new Redis({ ...REDIS, db: 1 })
    try {
      const dead = () =>
        new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
      Object.assign(client, { duplicate: dead })
      const viaClient = await queueStats({ client, prefix: s.prefix, db: 1 }, 'ops_trace', { chunk: 100 })
      const { elapsedMs: _a, ...x } = viaClient
      const { elapsedMs: _b, ...y } = st.json
      expect(x).toEqual(y)
    } finally {
      client.disconnect()
    }
  })

  it('(d) an id found nowhere is "unknown", never "pending"', async () => {
    const id = randomUUID()
    const r = await cli(['task', id, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({ id, where: 'unknown', result: null, queue: null, workersAsked: 1 })
    const h = await cli(['task', id])
    expect(h.stdout).toContain(`${id}: unknown.`)
    expect(h.stdout + h.stderr).not.toMatch(/pending/i)
  })
})

describe('rates in and out', () => {
  it('RateTracker counts pushes and takes exactly while the previous head is still listed, lower bounds after', async () => {
    const b = { client: broker, prefix: s.prefix, db: 1 }
    const key = `${s.prefix}ratesq`
    const t = new RateTracker(b)
    await broker.lpush(key, 'a1', 'a2', 'a3', 'a4', 'a5')
    await broker.lpush(`${key}${SEP}9`, 'p1')
    expect(await t.sample(['ratesq'])).toBeNull()
    await broker.lpush(key, 'b1', 'b2', 'b3')
    for (let i = 0; i < 4; i++) await broker.rpop(key)
    await broker.rpop(`${key}${SEP}9`)
    await broker.lpush(`${key}${SEP}9`, 'p2', 'p3')
    const r1 = (await t.sample(['ratesq']))!.get('ratesq')!
    // P0: 3 in, 4 out (exact); P9: its head p1 was taken, so >= 2 in, >= 1 out
    expect(r1).toMatchObject({ in: 5, out: 5, exact: false })
    expect(r1.seconds).toBeGreaterThan(0)
    await broker.lpush(key, 'c1')
    await broker.rpop(key)
    const r2 = (await t.sample(['ratesq']))!.get('ratesq')!
    expect(r2).toMatchObject({ in: 1, out: 1, exact: true })
    await broker.del(key)
    await broker.lpush(key, 'd1', 'd2')
    const r3 = (await t.sample(['ratesq']))!.get('ratesq')!
    // the list was emptied in between: the 4 that were there were taken (at least), 2 came in (at least)
    expect(r3).toMatchObject({ in: 2, out: 4, exact: false })
    await broker.del(key, `${key}${SEP}9`)
  })

  it('queue list --watch --json: one line per refresh, non-zero rates in and out while the worker drains a burst', async () => {
    const child = spawn(process.execPath, [BIN, 'queue', 'list', '--watch', '1', '--json', '--no-workers'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...s.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
    const lines = () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    try {
      await waitFor(() => lines().length >= 1, 20_000, 'the first refresh')
      // concurrency 1, 0.5 s a task (and this worker takes a message only every 1-4 s, kombu's polling loop with the
      // threads pool): a backlog drained over several refreshes
      const N = 8
      produce(
        c,
        Array.from({ length: N }, (_, i) => ({
          task: 'tasks.record' as const,
          args: [`w${i}`],
          kwargs: { sleep: 0.5 },
          options: { queue: 'dataset' },
        })),
      )
      await waitFor(async () => (await broker.llen(`${s.prefix}ran`)) >= N, 50_000, 'the worker to run the burst')
      const seen = lines().length
      await waitFor(() => lines().length >= seen + 2, 10_000, 'two more refreshes')
      child.kill('SIGINT')
      expect(await closed).toBe(130)
      const all = lines()
      expect(all[0].rates).toBeNull()
      for (const l of all) expect(l).toMatchObject({ queueList: { source: 'fallback' }, workers: { asked: false } })
      const ds = all.slice(1).map((l) => l.rates.dataset)
      for (const r of ds) expect(r.seconds).toBeGreaterThan(0.5)
      expect(ds.some((r) => r.inPerSec > 0)).toBe(true)
      expect(ds.some((r) => r.outPerSec > 0 && r.exact)).toBe(true)
      // exact counts or lower bounds: never more than what really went through
      expect(ds.reduce((a, r) => a + r.in, 0)).toBeLessThanOrEqual(N)
      expect(ds.reduce((a, r) => a + r.out, 0)).toBeLessThanOrEqual(N)
      expect(ds.reduce((a, r) => a + r.out, 0)).toBeGreaterThanOrEqual(2)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
    expect(err).not.toMatch(/Error/)
  }, 90_000)

  it('queue list --watch (human): IN/S and OUT/S columns', async () => {
    // a queue of its own that nobody consumes: 5 messages in the bare list, 1 in priority list 6
    const key = `${s.prefix}ops_watch`
    await broker.lpush(key, ...Array.from({ length: 5 }, (_, i) => filler(i, 'ops_watch')))
    await broker.lpush(`${key}${SEP}6`, filler(5, 'ops_watch'))
    const child = spawn(process.execPath, [BIN, 'queue', 'list', '--watch', '0.5', '--no-workers'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...s.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
    await waitFor(() => /over the last/.test(out), 20_000, 'a second refresh')
    child.kill('SIGINT')
    expect(await closed).toBe(130)
    expect(out).toMatch(/QUEUE\s+DEPTH\s+P0\s+P3\s+P6\s+P9\s+UNACKED\s+IN\/S\s+OUT\/S\s+CONSUMERS/)
    expect(out).toContain('from the next refresh on')
    // ops_watch (discovered, hence the *) holds 6 messages untouched since the last refresh: exactly 0 in and out
    expect(out).toMatch(/ops_watch \*\s+6\s+5\s+0\s+1\s+0\s+0\s+0\.0\s+0\.0\s/)
  })
})
