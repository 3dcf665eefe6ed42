// `dify queue list` over all Dify queues: target < 200 ms after connect (median), in one pipelined batch.
// Run: npx vite-node bench/queue-list.ts  (or node --import tsx bench/queue-list.ts). Needs the local Redis.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { listQueues } from '../src/queues/list.js'
import { WORKER_QUEUES_BY_RELEASE, priorityListKey } from '../src/dify/queues.js'
import { celeryKeys } from '../src/dify/keys.js'
import { message } from './queue-fixtures.js'

const WORKER_QUEUES_1_12 = WORKER_QUEUES_BY_RELEASE.find(([from]) => from === '1.11.2')![1]

const prefix = `dops_bench_${randomBytes(4).toString('hex')}:`
const client = new Redis({ host: '127.0.0.1', port: 6379, db: 1 })
const b = { client, prefix, db: 1 }
try {
  // 16 Dify queues with 200 messages each (some in priority lists), their bindings, 2 stray queues, 50 unacked
  const pipe = client.pipeline()
  for (const q of [...WORKER_QUEUES_1_12, 'monitor', 'trigger_refresh_publisher']) {
    pipe.sadd(celeryKeys.binding(q, prefix), `${q}\x06\x16\x06\x16${q}`)
    for (const p of [0, 3, 6, 9])
      pipe.lpush(prefix + priorityListKey(q, p), ...Array.from({ length: p === 0 ? 170 : 10 }, (_, i) => message(i, q)))
  }
  for (let i = 0; i < 50; i++) {
    pipe.hset(celeryKeys.unacked(prefix), `tag${i}`, `[${message(i, 'dataset')}, "", "dataset"]`)
    pipe.zadd(celeryKeys.unackedIndex(prefix), Date.now() / 1000 - i, `tag${i}`)
  }
  await pipe.exec()
  const run = async (workerTimeoutMs: number) => {
    const times: number[] = []
    for (let i = 0; i < 25; i++) {
      const t0 = performance.now()
      const r = await listQueues(b, { expected: WORKER_QUEUES_1_12, workerTimeoutMs })
      times.push(performance.now() - t0)
      if (r.queues.length !== 18 || r.totals.depth !== 18 * 200)
        throw new Error(`unexpected result ${r.queues.length} ${r.totals.depth}`)
    }
    times.sort((x, y) => x - y)
    return { median: times[12]!, p90: times[22]!, max: times[24]! }
  }
  const ro = await run(0)
  const pb = await run(1000)
  console.log('queue list (16 Dify queues + 2 discovered, 3600 messages, 50 unacked), after connect:')
  console.log(
    `  --no-workers                 median ${ro.median.toFixed(1)} ms, p90 ${ro.p90.toFixed(1)} ms, max ${ro.max.toFixed(1)} ms  (target < 200 ms)`,
  )
  console.log(
    `  with pidbox (no live worker) median ${pb.median.toFixed(1)} ms, p90 ${pb.p90.toFixed(1)} ms, max ${pb.max.toFixed(1)} ms`,
  )
} finally {
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length) await client.unlink(...keys)
  } while (cursor !== '0')
  client.disconnect()
}
