import { afterAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import { sql } from 'kysely'
import { Redis } from 'ioredis'
import { loadConfig } from '../../../src/config/schema.js'
import { Runtime } from '../../../src/runtime/index.js'
import { runCli } from '../../support/cli.js'
import { closedPort } from '../../support/blackhole.js'

const cleanups: Array<() => void | Promise<void>> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

describe('embedded PGlite', () => {
  it('opens in a directory with uuid-ossp and UTC, and keeps data across opens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dops-pglite-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const cfg = loadConfig({ env: { DB_TYPE: 'pglite', PGLITE_DATA_DIR: dir }, noDotenv: true })
    expect(cfg.db.embedded).toBe(false)
    const rt = new Runtime(cfg)
    const db = await rt.db()
    await sql`create extension if not exists "uuid-ossp"`.execute(db.kysely)
    await sql`create table t (id uuid default uuid_generate_v4() primary key, at timestamp default current_timestamp)`.execute(
      db.kysely,
    )
    await sql`insert into t default values`.execute(db.kysely)
    const tz = await sql<{ tz: string }>`select current_setting('timezone') as tz`.execute(db.kysely)
    expect(tz.rows[0]!.tz).toBe('UTC')
    await rt.close()
    const rt2 = new Runtime(cfg)
    const n = await sql<{ n: number }>`select count(*)::int as n from t`.execute((await rt2.db()).kysely)
    expect(n.rows[0]!.n).toBe(1)
    await rt2.close()
  })

  it('is the default when no DB_* variable is set, announced on stderr', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dops-pglite-cwd-'))
    cleanups.push(() => rmSync(cwd, { recursive: true, force: true }))
    const r = await runCli(['doctor', '--json'], {
      cwd,
      env: { REDIS_HOST: '127.0.0.1', VECTOR_STORE: 'none' },
      timeoutMs: 120_000,
    })
    expect(r.stderr).toContain(`Using the embedded PGlite database in ${cwd}/.dify-ops/pglite`)
    const c = r.json.checks.find((x: { name: string }) => x.name === 'metadata database')
    expect(c.summary).toContain('pglite:')
    expect(['ok', 'warn']).toContain(c.status)
  }, 150_000)

  it('is not created on disk by a dry run (an empty one in memory shows the plan)', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dops-pglite-dry-'))
    cleanups.push(() => rmSync(cwd, { recursive: true, force: true }))
    const r = await runCli(['db', 'upgrade', '--dry-run', '--json'], {
      cwd,
      env: { REDIS_HOST: '127.0.0.1' },
      timeoutMs: 120_000,
    })
    expect(r.code, r.stderr).toBe(0)
    expect(existsSync(join(cwd, '.dify-ops'))).toBe(false)
  }, 150_000)
})

describe('Redis through Sentinel', () => {
  it('finds the master as Dify does (REDIS_USE_SENTINEL, REDIS_SENTINELS, REDIS_SENTINEL_SERVICE_NAME)', async () => {
    const port = await closedPort()
    const dir = mkdtempSync(join(tmpdir(), 'dops-sentinel-'))
    const conf = join(dir, 'sentinel.conf')
    writeFileSync(conf, `port ${port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 6379 1\n`)
    const proc: ChildProcess = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' })
    cleanups.push(() => {
      proc.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    })
    // wait for the sentinel to answer
    for (let i = 0; i < 50; i++) {
      const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
      probe.on('error', () => {})
      try {
        await probe.connect()
        await probe.ping()
        probe.disconnect()
        break
      } catch {
        probe.disconnect()
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    const rt = new Runtime(
      loadConfig({
        env: {
          REDIS_USE_SENTINEL: 'true',
          REDIS_SENTINELS: `127.0.0.1:${port}`,
          REDIS_SENTINEL_SERVICE_NAME: 'mymaster',
          REDIS_DB: '0',
        },
        noDotenv: true,
      }),
    )
    const r = await rt.redis()
    const role = (await r.client.call('ROLE')) as unknown[]
    expect(role[0]).toBe('master')
    expect(r.describe).toContain('mymaster')
    await rt.close()
  })
})
