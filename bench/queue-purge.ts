// `queue purge --task` over 200 001 messages removing a third (issue #17 hostile 8), next to two floors measured in the
// same run on the same list: one LREM of one value repeated (a list with the same number of identical elements, all
// removed by a single LREM) and a bare linear pass (LRANGE in chunks + the task-name decode, which any purge must do).
// Also reports every Redis command of the purge: SLOWLOG with slowlog-log-slower-than 0 (BENCH_SLOWLOG_US; reset before,
// settings restored after; only entries naming this run's keys count, since other clients share the server): the
// duration distribution and the commands over 50 ms (SLOWLOG times are wall time inside Redis, so machine load shows).
// Run: npm run bench -- queue-purge [count]   (in-process on src/, no build needed)
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { Redis } from 'ioredis'
import { message } from './queue-fixtures.js'
import { purgeTask } from '../src/queues/purge.js'
import { decodeMessage } from '../src/queues/message.js'

const N = Number(process.argv[2] ?? 200_001)
const TASK = 'tasks.purge_bench.purge_me'
const name = `dops_bench_${randomBytes(4).toString('hex')}`
const prefix = `${name}:`
const key = `${prefix}bench`
const client = new Redis({ host: '127.0.0.1', port: 6379, db: 1 })
const b = { client, prefix, db: 1 }
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
const redisCpu = async () => {
  const info = await client.info('cpu')
  return Number(/used_cpu_user:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)![1])
}
const gen = (i: number) => {
  const m = message(i, 'bench')
  return i % 3 === 0 ? m.replace(/"task": "[^"]+"/, `"task": "${TASK}"`) : m
}
async function fill(make: (i: number) => string) {
  await client.del(key)
  for (let done = 0; done < N;) {
    const pipe = client.pipeline()
    for (let k = 0; k < 20 && done < N; k++) {
      const n = Math.min(1000, N - done)
      pipe.lpush(key, ...Array.from({ length: n }, (_, i) => make(done + i)))
      done += n
    }
    await pipe.exec()
  }
}
const [, slowerThan] = (await client.config('GET', 'slowlog-log-slower-than')) as string[]
const [, maxLen] = (await client.config('GET', 'slowlog-max-len')) as string[]
try {
  console.log(`load average before: ${load()}`)
  // floor 1: one LREM removing ⌈N/3⌉ copies of one value from an N-element list of same-sized messages
  const tomb = 'x'.repeat(gen(0).length)
  await fill((i) => (i % 3 === 0 ? tomb : gen(i)))
  let t = performance.now()
  let c0 = await redisCpu()
  const lremRemoved = await client.lrem(key, 0, tomb)
  const lremMs = performance.now() - t
  const lremCpu = (await redisCpu()) - c0
  // floor 2: a bare linear pass (what the dry run does): LRANGE 1000 at a time + decode the task name
  await fill(gen)
  t = performance.now()
  let seen = 0
  for (let s = 0; ; s += 1000) {
    const raws = await client.lrange(key, s, s + 999)
    for (const r of raws) if (decodeMessage(r, { body: false }).task === TASK) seen++
    if (raws.length < 1000) break
  }
  const passMs = performance.now() - t
  // the purge itself, with the slow log at 50 ms
  // every command is logged (threshold 0) so the distribution of this run's own commands is known; the verdict is
  // the number over 50 ms
  await client.config('SET', 'slowlog-max-len', '100000')
  await client.config('SET', 'slowlog-log-slower-than', String(process.env.BENCH_SLOWLOG_US ?? 0))
  await client.slowlog('RESET')
  t = performance.now()
  c0 = await redisCpu()
  const cpu0 = process.cpuUsage()
  const r = await purgeTask(b, 'bench', TASK)
  const purgeMs = performance.now() - t
  const purgeRedisCpu = (await redisCpu()) - c0
  const cli = process.cpuUsage(cpu0)
  const ours = ((await client.slowlog('GET', 100000)) as Array<[number, number, number, string[]]>).filter((e) =>
    e[3].some((a) => String(a).includes(name)),
  )
  const slow = ours.filter((e) => e[2] > 50_000)
  const durs = ours.map((e) => e[2] / 1000).sort((x, y) => x - y)
  const pct = (p: number) => durs[Math.min(durs.length - 1, Math.floor(p * durs.length))]!.toFixed(1)
  const evals = ours.filter((e) => String(e[3][0]).toLowerCase() === 'eval').length
  const left = await client.llen(key)
  if (r.removed !== seen || left !== N - seen) throw new Error(`purge removed ${r.removed} of ${seen}; ${left} left`)
  console.log(`${N} messages, ${seen} of task ${TASK}`)
  console.log(
    `  floor, one LREM of ${lremRemoved} copies of one value: ${lremMs.toFixed(0)} ms wall, ${(lremCpu * 1000).toFixed(0)} ms Redis CPU`,
  )
  console.log(`  floor, bare linear pass (LRANGE ×1000 + task decode): ${passMs.toFixed(0)} ms wall`)
  console.log(
    `  purge --task: ${(purgeMs / 1000).toFixed(2)} s wall, Redis CPU ${purgeRedisCpu.toFixed(2)} s, client CPU ${((cli.user + cli.system) / 1e6).toFixed(2)} s; removed ${r.removed}`,
  )
  console.log(
    `  ratio: ${(purgeMs / passMs).toFixed(2)}× the linear pass, ${(purgeMs / lremMs).toFixed(0)}× the single LREM (wall); Redis CPU ${(purgeRedisCpu / Math.max(lremCpu, 0.001)).toFixed(0)}× the LREM's`,
  )
  console.log(
    `  this run's commands: ${ours.length} (${evals} scripts); duration p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${pct(1)} ms (SLOWLOG, wall time inside Redis)`,
  )
  console.log(
    `  commands over 50 ms: ${slow.length}${slow.length ? ' — ' + slow.map((e) => `${String(e[3][0])} ${(e[2] / 1000).toFixed(0)} ms`).join(', ') : ''}`,
  )
  console.log(`load average after: ${load()}`)
} finally {
  await client.config('SET', 'slowlog-log-slower-than', slowerThan!)
  await client.config('SET', 'slowlog-max-len', maxLen!)
  await client.unlink(key)
  client.disconnect()
}
