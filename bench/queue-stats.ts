// `dify queue stats` over a queue of 1 000 000 messages: target < 10 s and < 200 MB peak RSS (the CLI process).
// Build first (dist/). Run: npx vite-node bench/queue-stats.ts [count]  (or node --import tsx …). Needs the local
// Redis and ~1.2 GB of free memory there; the messages are generated with a pipeline and removed afterwards.
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { message, TASK_COUNT } from './queue-fixtures.js'

const N = Number(process.argv[2] ?? 1_000_000)
const name = `dops_bench_${randomBytes(4).toString('hex')}`
const prefix = `${name}:`
const client = new Redis({ host: '127.0.0.1', port: 6379, db: 1 })
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
try {
  const t0 = performance.now()
  const BATCH = 1000
  for (let done = 0; done < N;) {
    const pipe = client.pipeline()
    for (let k = 0; k < 50 && done < N; k++) {
      const n = Math.min(BATCH, N - done)
      pipe.lpush(`${prefix}bench`, ...Array.from({ length: n }, (_, i) => message(done + i, 'bench')))
      done += n
    }
    await pipe.exec()
  }
  const mem = (await client.memory('USAGE', `${prefix}bench`)) as number
  console.log(
    `generated ${N} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s (${(mem / 1e6).toFixed(0)} MB in Redis)`,
  )
  const redisCpu = async () => {
    const info = await client.info('cpu')
    return Number(/used_cpu_user:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)![1])
  }
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')
  console.log(`load average before the runs: ${load()}`)
  const runs: Array<{ wall: number; rss: number; cpu: number; redis: number }> = []
  for (let i = 0; i < 2; i++) {
    const start = performance.now()
    const r0 = await redisCpu()
    const r = spawnSync(
      '/usr/bin/time',
      ['-f', '%U %S %M', process.execPath, BIN, 'queue', 'stats', 'bench', '--json'],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          CELERY_BROKER_URL: 'redis://127.0.0.1:6379/1',
          REDIS_KEY_PREFIX: name,
        },
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    )
    const wall = (performance.now() - start) / 1000
    if (r.status !== 0) throw new Error(`stats failed: ${r.stderr}`)
    const out = JSON.parse(r.stdout)
    if (out.scanned !== N || out.tasks.length !== TASK_COUNT)
      throw new Error(`unexpected result: scanned ${out.scanned}`)
    const redis = (await redisCpu()) - r0
    const [u, sy, kb] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number)
    const rss = kb! / 1024
    const cpu = u! + sy!
    runs.push({ wall, rss, cpu, redis })
    console.log(
      `  run ${i + 1}: ${wall.toFixed(2)} s wall (stats itself ${(out.elapsedMs / 1000).toFixed(2)} s), CLI CPU ${cpu.toFixed(2)} s, Redis CPU ${redis.toFixed(2)} s, peak RSS ${rss.toFixed(0)} MB`,
    )
  }
  runs.sort((x, y) => x.wall - y.wall)
  console.log(
    `queue stats over ${N} messages: best ${runs[0]!.wall.toFixed(2)} s wall, ${Math.min(...runs.map((r) => r.cpu)).toFixed(2)} s CLI CPU (target < 10 s); peak RSS max ${Math.max(...runs.map((r) => r.rss)).toFixed(0)} MB (target < 200 MB)`,
  )
  console.log(`load average after the runs: ${load()}`)
  console.log(
    '  (wall time is only meaningful on an idle machine: the CLI is single-threaded, so on 2 idle cores wall ≈ CLI CPU + connect)',
  )
} finally {
  await client.unlink(`${prefix}bench`)
  client.disconnect()
}
