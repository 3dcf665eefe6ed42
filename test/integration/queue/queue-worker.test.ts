/**
 * `dify queue` against a real Celery 5.2.6 worker (Debian python3-celery) on the local Redis. The worker and the
 * messages use kombu's global_keyprefix = this file's scratch prefix, so nothing leaks between test files.
 * One worker for the whole file; it consumes dataset and mail only, so messages sent to other queues stay put.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { Redis } from 'ioredis'
import { runCli } from '../../support/cli.js'
import { scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { alembicOnlyDb } from '../../support/release-db.js'
import { REDIS } from '../../support/services.js'
import { celeryEnv, produce, startWorker, waitFor, type CeleryEnv, type Worker } from '../../support/celery.js'

let s: ScratchRedis
/** writing commands check the Dify release of the metadata database */
let db: Scratch
let c: CeleryEnv
let w: Worker
let broker: Redis
const SEP = '\x06\x16'

beforeAll(async () => {
  s = await scratchRedis('queueworker')
  db = await alembicOnlyDb('queueworker')
  c = celeryEnv(s.prefix)
  broker = new Redis({ ...REDIS, db: 1 })
  w = await startWorker(c, ['dataset', 'mail'])
})

afterAll(async () => {
  await w?.stop()
  broker?.disconnect()
  await s?.drop()
  await db?.drop()
})

// only the writing command (purge) gets a database (for its release check); the others show their fallbacks
const cli = (args: string[]) =>
  runCli(['queue', ...args], { env: args[0] === 'purge' ? { ...s.env, ...db.env } : s.env })

describe('messages produced by Celery apply_async', () => {
  let ids: string[]
  beforeAll(() => {
    // priority_pipeline and ops_trace are not consumed by this worker
    ids = produce(c, [
      {
        task: 'tasks.build_dataset',
        args: ['ds1'],
        kwargs: { rows: 5 },
        options: { queue: 'priority_pipeline', countdown: 600 },
      },
      { task: 'tasks.build_dataset', args: ['ds2'], options: { queue: 'priority_pipeline' } },
      { task: 'tasks.send_mail', args: ['a@example.com', 'hi'], options: { queue: 'priority_pipeline' } },
      { task: 'tasks.build_dataset', args: ['ds-prio5'], options: { queue: 'priority_pipeline', priority: 5 } },
      {
        task: 'tasks.send_mail',
        args: ['b@example.com', 'urgent'],
        options: { queue: 'priority_pipeline', priority: 9 },
      },
      { task: 'tasks.send_mail', args: ['c@example.com', 'x'], options: { queue: 'ops_trace' } },
      { task: 'tasks.send_mail', args: ['d@example.com', 'y'], options: { queue: 'orphan_queue' } },
    ])
  })

  it('queue list: depth per priority, consumers from the live worker, queues without consumer flagged', async () => {
    const r = await cli(['list', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const q = (n: string) => r.json.queues.find((x: { name: string }) => x.name === n)
    expect(q('priority_pipeline')).toMatchObject({
      depth: 5,
      byPriority: { '0': 3, '3': 1, '6': 0, '9': 1 },
      expected: true,
      bound: true,
      consumers: [],
      noConsumer: true,
    })
    expect(q('ops_trace')).toMatchObject({ depth: 1, noConsumer: true })
    expect(q('orphan_queue')).toMatchObject({ depth: 1, expected: false, noConsumer: true })
    expect(q('dataset')).toMatchObject({ consumers: [w.node], noConsumer: false })
    expect(q('mail').consumers).toEqual([w.node])
    expect(r.json.workers.nodes).toEqual([w.node])
    expect(r.json.queueList).toMatchObject({ source: 'fallback' })
    // the newest list (Dify 1.14.0 – 1.15.0: 20 queues) when no database tells the release
    expect(r.json.queues.filter((x: { expected: boolean }) => x.expected)).toHaveLength(20)
    // no internal pidbox / celeryev queue is listed
    expect(r.json.queues.some((x: { name: string }) => /pidbox|celeryev/.test(x.name))).toBe(false)
    // the pidbox reply binding and lists were cleaned up
    expect(await broker.smembers(`${s.prefix}_kombu.binding.reply.celery.pidbox`)).toEqual([])
    expect(await broker.keys(`${s.prefix}*reply.celery.pidbox*`)).toEqual([])
    const h = await cli(['list', '--no-workers'])
    // without asking workers, the Dify worker list is taken as consumed; other queues with messages are flagged
    expect(h.stdout).toMatch(/priority_pipeline\s+5\s+3\s+1\s+0\s+1\s+0\s+\?\n/)
    expect(h.stdout).toMatch(/orphan_queue \*\s+1\s+1\s+0\s+0\s+0\s+0\s+\?\s+NO CONSUMER/)
  })

  it('CELERY_QUEUES overrides the queue list', async () => {
    const r = await runCli(['queue', 'list', '--json', '--no-workers'], {
      env: { ...s.env, CELERY_QUEUES: 'dataset,mail' },
    })
    expect(r.json.queueList.source).toBe('CELERY_QUEUES')
    expect(r.json.queues.filter((x: { expected: boolean }) => x.expected).map((x: { name: string }) => x.name)).toEqual(
      ['dataset', 'mail'],
    )
  })

  it('queue peek: consumption order (P0 oldest first, then P3, then P9) and decoded fields', async () => {
    const r = await cli(['peek', 'priority_pipeline', '-n', '10', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const m = r.json.messages
    expect(m.map((x: { id: string }) => x.id)).toEqual([ids[0], ids[1], ids[2], ids[3], ids[4]])
    expect(m.map((x: { list: number }) => x.list)).toEqual([0, 0, 0, 3, 9])
    expect(m[0]).toMatchObject({
      status: 'ok',
      protocol: 2,
      task: 'tasks.build_dataset',
      args: "['ds1']",
      kwargs: "{'rows': 5}",
      retries: 0,
      rootId: ids[0],
      parentId: null,
      position: 1,
    })
    expect(Date.parse(m[0].eta)).toBeGreaterThan(Date.now() + 500_000)
    expect(m[1].eta).toBeNull()
    expect(m[3]).toMatchObject({ priority: 5, args: "['ds-prio5']" })
    expect(m[4]).toMatchObject({ priority: 9, task: 'tasks.send_mail' })
    expect(m[0].origin).toMatch(/^gen\d+@/)
    const one = await cli(['peek', 'priority_pipeline', '--priority', '9', '--json'])
    expect(one.json.messages.map((x: { id: string }) => x.id)).toEqual([ids[4]])
    const human = await cli(['peek', 'priority_pipeline', '-n', '2'])
    expect(human.stdout).toContain('#1  [P0]  tasks.build_dataset')
    expect(human.stdout).toContain("args: ['ds1']")
  })

  it('queue stats: exact counts by task name and the ETA range', async () => {
    const r = await cli(['stats', 'priority_pipeline', '--json', '--chunk', '10'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toMatchObject({ scanned: 5, malformed: 0, byPriority: { '0': 3, '3': 1, '6': 0, '9': 1 } })
    const t = Object.fromEntries(r.json.tasks.map((x: { task: string }) => [x.task, x]))
    expect(t['tasks.build_dataset']).toMatchObject({ count: 3, withEta: 1 })
    expect(t['tasks.send_mail']).toMatchObject({ count: 2, withEta: 0, oldestEta: null })
    expect(t['tasks.build_dataset'].oldestEta).toBe(t['tasks.build_dataset'].newestEta)
  })

  it('queue task: a queued task is found with its position; an unknown id is "unknown", not pending', async () => {
    const r = await cli(['task', ids[3]!, '--json'])
    expect(r.json).toMatchObject({ where: 'queue', queue: 'priority_pipeline', priority: 3, position: 1 })
    const u = await cli(['task', '00000000-0000-0000-0000-000000000000'])
    expect(u.code).toBe(0)
    expect(u.stdout).toContain('unknown')
    expect(u.stdout).not.toMatch(/pending/i)
  })

  it("queue purge --task removes only that task's messages; --dry-run and a missing --yes change nothing", async () => {
    const dry = await cli(['purge', 'priority_pipeline', '--task', 'tasks.send_mail', '--dry-run', '--json'])
    expect(dry.json).toMatchObject({ removed: 2, dryRun: true })
    const noYes = await cli(['purge', 'priority_pipeline', '--task', 'tasks.send_mail'])
    expect(noYes.code).toBe(2)
    expect(noYes.stderr).toContain('--yes')
    expect(await broker.llen(`${s.prefix}priority_pipeline`)).toBe(3)
    expect(await broker.llen(`${s.prefix}priority_pipeline${SEP}9`)).toBe(1)
    const r = await cli(['purge', 'priority_pipeline', '--task', 'tasks.send_mail', '--yes', '--json'])
    expect(r.json).toMatchObject({ removed: 2, byPriority: { '0': 1, '3': 0, '6': 0, '9': 1 }, dryRun: false })
    const left = await cli(['peek', 'priority_pipeline', '--json'])
    expect(left.json.messages.map((x: { id: string }) => x.id)).toEqual([ids[0], ids[1], ids[3]])
    // with --yes there is no counting pass first; a task with no message is still "nothing", and not audited
    const auditKey = `${s.prefix}dify_ops:audit`
    const audited = await s.client.xlen(auditKey)
    const none = await cli(['purge', 'priority_pipeline', '--task', 'tasks.no_such_task', '--yes', '--json'])
    expect(none.code).toBe(0)
    expect(none.json).toMatchObject({ removed: 0, dryRun: false })
    const noneHuman = await cli(['purge', 'priority_pipeline', '--task', 'tasks.no_such_task', '--yes'])
    expect(noneHuman.stdout).toContain('Nothing to remove')
    expect(await s.client.xlen(auditKey)).toBe(audited)
    expect(await broker.llen(`${s.prefix}priority_pipeline`)).toBe(2)
  })

  it('queue purge (whole queue) empties every priority list and reports the count', async () => {
    const r = await cli(['purge', 'priority_pipeline', '--yes', '--json'])
    expect(r.json).toMatchObject({ removed: 3, byPriority: { '0': 2, '3': 1, '6': 0, '9': 0 } })
    expect(await broker.exists(`${s.prefix}priority_pipeline`, `${s.prefix}priority_pipeline${SEP}3`)).toBe(0)
    // bindings are kept (as kombu's purge)
    expect(await broker.scard(`${s.prefix}_kombu.binding.priority_pipeline`)).toBe(1)
    // the audit line names the broker it purged (CELERY_BROKER_URL without credentials)
    const audit = await s.client.xrange(`${s.prefix}dify_ops:audit`, '-', '+')
    const last = JSON.parse(audit.at(-1)![1][1]!)
    expect(last).toMatchObject({ command: 'queue:purge', counts: { removed: 3 } })
    expect(last.target.broker).toBe(`redis://${REDIS.host}:${REDIS.port}/1`)
  })
})

describe('live worker', () => {
  it('queue workers sees the worker, its queues and its running task; queue task finds it there', async () => {
    const [id] = produce(c, [
      { task: 'tasks.record', args: ['slow'], kwargs: { sleep: 15 }, options: { queue: 'dataset' } },
    ])
    const r = (await waitFor(
      async () => {
        const x = await cli(['workers', '--json', '--timeout', '5'])
        return x.json?.workers?.[0]?.active?.length ? x : null
      },
      10_000,
      'the running task',
    ))!
    expect(r.code).toBe(0)
    expect(r.json.receivers).toBe(1)
    const wk = r.json.workers[0]
    expect(wk).toMatchObject({ node: w.node, poolSize: 2, problems: [] })
    expect(wk.queues.sort()).toEqual(['dataset', 'mail'])
    expect(wk.active[0]).toMatchObject({ id, name: 'tasks.record' })
    // ended early: one worker answered everything, no waiting out the 5 s of silence
    expect(r.json.elapsedMs).toBeLessThan(4000)
    const t = await cli(['task', id!, '--json'])
    expect(t.json).toMatchObject({ where: 'worker', worker: { node: w.node, state: 'active' } })
    expect(await broker.keys(`${s.prefix}*reply.celery.pidbox*`)).toEqual([])
    const h = await cli(['workers'])
    expect(h.stdout).toContain(`running tasks.record ${id}`)
  })

  it('stats replies lose their secrets', async () => {
    const { sanitizeReply } = await import('../../../src/queues/pidbox.js')
    const v = sanitizeReply('stats', {
      broker: {
        transport_options: { master_name: 'm', sentinel_kwargs: { password: 'Zq-sentinel' } },
        uri: 'redis://:Zq-pw@h:6379/1',
      },
    })
    expect(JSON.stringify(v)).not.toContain('Zq-')
  })
})

describe('malformed and hostile messages', () => {
  it('are reported, never crash a listing, and pickle is never deserialised', async () => {
    const q = `${s.prefix}hostile`
    const marker = `/tmp/dops-pickle-${Date.now()}`
    // a pickle that would run `touch <marker>` if anything unpickled it
    const pickle = Buffer.from(`cos\nsystem\n(S'touch ${marker}'\ntR.`).toString('base64')
    const env = (over: Record<string, unknown>) =>
      JSON.stringify({
        body: Buffer.from('[[], {}, {}]').toString('base64'),
        'content-encoding': 'utf-8',
        'content-type': 'application/json',
        headers: { task: 'tasks.ok', id: 'id-ok', argsrepr: '()', kwargsrepr: '{}' },
        properties: {
          body_encoding: 'base64',
          delivery_tag: 't',
          priority: 0,
          delivery_info: { exchange: '', routing_key: 'hostile' },
        },
        ...over,
      })
    const msgs = [
      '{not json',
      env({ body: '!!!not base64!!!' }),
      env({
        'content-type': 'application/x-python-serialize',
        'content-encoding': 'binary',
        body: pickle,
        headers: { task: 'tasks.pickled', id: 'id-p' },
      }),
      env({
        body: Buffer.from(`[["${'x'.repeat(5_000_000)}"], {}, {}]`).toString('base64'),
        headers: { task: 'tasks.huge', id: 'id-h' },
      }),
      env({
        headers: {},
        body: Buffer.from(
          JSON.stringify({ task: 'tasks.v1', id: 'id-v1', args: [1, 2], kwargs: { a: 1 }, eta: null, retries: 3 }),
        ).toString('base64'),
      }),
      env({
        body: Buffer.from('[[NaN], {"x": Infinity}, {}]').toString('base64'),
        headers: { task: 'tasks.nan', id: 'id-nan' },
      }),
      '"just a string"',
      env({
        'content-type': 'application/x-yaml',
        body: 'a: 1',
        properties: {},
        headers: { task: 'tasks.yaml', id: 'id-y' },
      }),
    ]
    // LPUSH one by one: the first one pushed is the next to be consumed
    for (const m of msgs) await broker.lpush(q, m)
    const r = await cli(['peek', 'hostile', '-n', '20', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const m = r.json.messages
    expect(m).toHaveLength(8)
    expect(m[0]).toMatchObject({ status: 'malformed', problem: 'invalid JSON envelope' })
    expect(m[1]).toMatchObject({ status: 'malformed', problem: 'body is not valid base64', task: 'tasks.ok' })
    expect(m[2]).toMatchObject({
      status: 'opaque',
      task: 'tasks.pickled',
      contentType: 'application/x-python-serialize',
      args: null,
    })
    expect(m[2].bodySize).toBeGreaterThan(10)
    expect(m[3]).toMatchObject({ status: 'ok', task: 'tasks.huge' })
    expect(m[3].size).toBeGreaterThan(6_000_000)
    expect(m[3].args.length).toBeLessThanOrEqual(1024)
    expect(m[4]).toMatchObject({
      status: 'ok',
      protocol: 1,
      task: 'tasks.v1',
      id: 'id-v1',
      args: '[1,2]',
      kwargs: '{"a":1}',
      retries: 3,
    })
    expect(m[5]).toMatchObject({ status: 'ok', task: 'tasks.nan', args: '[null]' })
    expect(m[6]).toMatchObject({ status: 'malformed', problem: 'envelope is not a JSON object' })
    expect(m[7]).toMatchObject({ status: 'opaque', task: 'tasks.yaml' })
    const st = await cli(['stats', 'hostile', '--json'])
    expect(st.code, st.stderr).toBe(0)
    expect(st.json).toMatchObject({
      scanned: 8,
      malformed: 3,
      opaque: { 'application/x-python-serialize': 1, 'application/x-yaml': 1 },
    })
    const l = await cli(['list', '--json', '--no-workers'])
    expect(l.json.queues.find((x: { name: string }) => x.name === 'hostile')).toMatchObject({ depth: 8 })
    const h = await cli(['peek', 'hostile', '-n', '20'])
    expect(h.code).toBe(0)
    expect(h.stdout).toContain('MALFORMED (invalid JSON envelope)')
    expect(h.stdout).toContain('application/x-python-serialize')
    expect(existsSync(marker)).toBe(false)
  })
})
