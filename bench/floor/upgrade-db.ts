/**
 * The protocol floor of `dify upgrade-db` (bench/db-upgrade.ts, part 3): the least any Node client can spend on the
 * same protocol, with none of the CLI around it. It does what upgrade-db does on its critical path, once and
 * minimally: two database sessions (the run's, and the pre-flight's catalog statement beside it), the state read, the
 * Redis lock (`SET NX PX` over a raw socket), the advisory lock, the re-read, the catalog statement's result parsed,
 * the DDL in transactions with `synchronous_commit = off` but the last, the locks released and one audit entry. It
 * checks nothing it reads and plans nothing: the SQL is Dify's own for the range, the same that psql applies.
 * With `bare` in the job it does less still: Node, pg, one session and the DDL, i.e. what psql does, in Node (no
 * locks, no state read, no catalog statement, no Redis): the least any Node program pays for this range.
 *
 * Not part of the CLI, and not a benchmark of its own (bench/run.ts runs only bench/*.ts). bench/db-upgrade-lib.ts
 * bundles it with esbuild (pg inside, its Cloudflare-Worker probe switched off as the CLI's build does in
 * scripts/build.mjs) and runs the bundle with plain Node, `node upgrade-db.mjs job.json`, the job (UpgradeFloorJob)
 * written by the benchmark.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import pg from 'pg'

export interface UpgradeFloorJob {
  pg: { host: string; port: number; user: string; password: string; database: string }
  redis: { host: string; port: number; db: number; lockKey: string; auditKey: string }
  /** the revision the database must be at, and the one it must reach */
  from: string
  to: string
  /** the pre-flight's catalog statement (src/migrations/schema/introspect.ts) */
  catalogSql: string
  /** one simple-query message each, in order */
  groups: string[]
  /** only the run's session and the DDL (see above) */
  bare?: boolean
}

const ADVISORY_KEY = '7235426947825627251'
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`

/** A minimal RESP client: one command at a time, replies of the simple kinds only. */
function resp(host: string, port: number) {
  const socket = net.connect(port, host)
  socket.setNoDelay(true)
  let buf = ''
  let waiting: ((reply: string) => void) | undefined
  const take = () => {
    const end = buf.indexOf('\r\n')
    if (end < 0 || !waiting) return
    let size = end + 2
    if (buf[0] === '$') {
      const n = Number(buf.slice(1, end))
      if (n >= 0) size += n + 2
    }
    if (buf.length < size) return
    const reply = buf.slice(0, size)
    buf = buf.slice(size)
    const w = waiting
    waiting = undefined
    w(reply)
  }
  socket.on('data', (d) => {
    buf += d.toString('utf8')
    take()
  })
  const ready = new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return {
    async call(...args: string[]): Promise<string> {
      await ready
      const reply = new Promise<string>((resolve) => {
        waiting = resolve
      })
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
      take()
      const r = await reply
      if (r.startsWith('-')) throw new Error(`redis ${args[0]}: ${r.trim()}`)
      return r
    },
    end: () => socket.end(),
  }
}

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as UpgradeFloorJob
const run = new pg.Client(job.pg)
if (job.bare) await bare()
else await full()

async function bare() {
  await run.connect()
  for (const group of job.groups) await run.query(group)
  await run.end()
}

async function full() {
  const side = new pg.Client(job.pg)
  const catalog = side
    .connect()
    .then(() => side.query<{ doc: string }>(job.catalogSql))
    .then((r) => JSON.parse(r.rows[0]!.doc) as Record<string, unknown[]>)
  await run.connect()
  const state = async () => (await run.query<{ v: string }>('select version_num as v from alembic_version')).rows[0]?.v
  if ((await state()) !== job.from) throw new Error(`not at ${job.from}`)
  const redis = resp(job.redis.host, job.redis.port)
  const token = randomUUID().replaceAll('-', '')
  await redis.call('SELECT', String(job.redis.db))
  if ((await redis.call('SET', job.redis.lockKey, token, 'PX', '60000', 'NX')) !== '+OK\r\n') throw new Error('locked')
  const locked = await run.query<{ ok: boolean }>(`select pg_try_advisory_lock(${ADVISORY_KEY}) as ok`)
  if (!locked.rows[0]!.ok) throw new Error('advisory lock taken')
  if ((await state()) !== job.from) throw new Error(`moved from ${job.from}`)
  if (!(await catalog).tables?.length) throw new Error('empty catalog')
  for (const group of job.groups) await run.query(group)
  if ((await state()) !== job.to) throw new Error(`did not reach ${job.to}`)
  await run.query(`select pg_advisory_unlock(${ADVISORY_KEY})`)
  await redis.call('EVAL', RELEASE, '1', job.redis.lockKey, token)
  await redis.call('XADD', job.redis.auditKey, 'MAXLEN', '~', '10000', '*', 'entry', '{"command":"upgrade-db"}')
  redis.end()
  await Promise.all([run.end(), side.end()])
}
