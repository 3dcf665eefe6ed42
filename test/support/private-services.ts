/**
 * Services of a test's own, for fault tests that stop, freeze or kill them (never the shared ones of
 * test/support/services.ts):
 * - `privatePg()`: a PostgreSQL 15 cluster (initdb + pg_ctl from /usr/lib/postgresql/15/bin) in a temp directory on
 *   a free port, trust auth, fsync off; `stop('immediate')` as a crash, `start()` again, `destroy()` at the end.
 *   initdb refuses root, so as root the cluster runs as the `postgres` OS user.
 * - `privateRedis()`: a redis-server on a free port, no persistence; `freeze()` / `thaw()` send SIGSTOP / SIGCONT
 *   (a Redis that stalls mid-run), `destroy()` kills it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { Redis } from 'ioredis'

const PG_BIN = '/usr/lib/postgresql/15/bin'

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

const isRoot = () => process.getuid?.() === 0
function asPostgres(cmd: string, args: string[]): string {
  const file = isRoot() ? 'runuser' : cmd
  const argv = isRoot() ? ['-u', 'postgres', '--', cmd, ...args] : args
  return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

export interface PrivatePg {
  host: string
  port: number
  /** the database created for the test */
  database: string
  /** DB_* variables pointing dify-ops at it */
  env: Record<string, string>
  client(): Promise<pg.Client>
  /** pg_ctl stop -m MODE (immediate = a crash: no checkpoint, every backend killed) */
  stop(mode?: 'fast' | 'immediate'): void
  start(): void
  destroy(): Promise<void>
}

export async function privatePg(opts: { database?: string } = {}): Promise<PrivatePg> {
  const dir = mkdtempSync(join(tmpdir(), 'dops-pg-'))
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  const port = await freePort()
  asPostgres(`${PG_BIN}/initdb`, [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--no-sync',
    '--locale=C.UTF-8',
  ])
  const start = () =>
    asPostgres(`${PG_BIN}/pg_ctl`, [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-t',
      '30',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=40`,
      'start',
    ])
  start()
  const database = opts.database ?? 'dify'
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' })
  await admin.connect()
  await admin.query(`create database ${database}`)
  await admin.end()
  let running = true
  return {
    host: '127.0.0.1',
    port,
    database,
    env: {
      DB_TYPE: 'postgresql',
      DB_HOST: '127.0.0.1',
      DB_PORT: String(port),
      DB_USERNAME: 'postgres',
      DB_PASSWORD: '',
      DB_DATABASE: database,
    },
    async client() {
      const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database })
      c.on('error', () => {}) // the test may crash the server under it
      await c.connect()
      return c
    },
    stop(mode = 'fast') {
      asPostgres(`${PG_BIN}/pg_ctl`, ['-D', data, '-m', mode, '-w', 'stop'])
      running = false
    },
    start() {
      start()
      running = true
    },
    async destroy() {
      if (running) {
        try {
          asPostgres(`${PG_BIN}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop'])
        } catch {
          /* already down */
        }
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface PrivateRedis {
  port: number
  pid: number
  /** REDIS_* and CELERY_BROKER_URL pointing dify-ops at it (cache DB 0, broker DB 1) */
  env: Record<string, string>
  client(db?: number): Promise<Redis>
  /** SIGSTOP: the server stops answering, connections stay open */
  freeze(): void
  /** SIGCONT */
  thaw(): void
  destroy(): Promise<void>
}

export async function privateRedis(opts: { databases?: number } = {}): Promise<PrivateRedis> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--databases',
      String(opts.databases ?? 16),
      '--protected-mode',
      'no',
    ],
    {
      stdio: 'ignore',
    },
  )
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const probe = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  })
  probe.on('error', () => {})
  let ok = false
  for (let i = 0; i < 100 && !ok; i++) {
    try {
      await probe.connect()
      ok = (await probe.ping()) === 'PONG'
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  probe.disconnect()
  if (!ok) {
    child.kill('SIGKILL')
    throw new Error(`redis-server did not start on port ${port}`)
  }
  const opened: Redis[] = []
  return {
    port,
    pid: child.pid!,
    env: {
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(port),
      REDIS_DB: '0',
      CELERY_BROKER_URL: `redis://127.0.0.1:${port}/1`,
    },
    async client(db = 0) {
      const c = new Redis({ host: '127.0.0.1', port, db })
      c.on('error', () => {})
      opened.push(c)
      return c
    },
    freeze: () => void process.kill(child.pid!, 'SIGSTOP'),
    thaw: () => void process.kill(child.pid!, 'SIGCONT'),
    async destroy() {
      for (const c of opened) c.disconnect()
      try {
        process.kill(child.pid!, 'SIGCONT')
      } catch {
        /* gone */
      }
      child.kill('SIGKILL')
      await exited
    },
  }
}
