import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../src/config/schema.js'
import { Runtime } from '../../../src/runtime/index.js'
import { ConnectError, ConfigError } from '../../../src/core/errors.js'
import { scratchMysql, scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { blackhole, closedPort } from '../../support/blackhole.js'
import { sql } from 'kysely'

let pgS: Scratch
let myS: Scratch
let redisS: ScratchRedis
const rt = (env: Record<string, string>) => new Runtime(loadConfig({ env, noDotenv: true, cwd: tmpdir() }))

beforeAll(async () => {
  pgS = await scratchPg('rt')
  myS = await scratchMysql('rt')
  redisS = await scratchRedis('rt')
})
afterAll(async () => {
  await pgS?.drop()
  await myS?.drop()
  await redisS?.drop()
})

describe('runtime connections', () => {
  it('opens PostgreSQL with timezone=UTC from DB_EXTRAS options merging', async () => {
    const r = rt({ ...pgS.env, DB_EXTRAS: 'options=-c statement_timeout=12345' })
    const db = await r.db()
    const tz = await sql<{
      tz: string
      app: string
    }>`select current_setting('timezone') as tz, current_setting('statement_timeout') as app`.execute(db.kysely)
    expect(tz.rows[0]).toEqual({ tz: 'UTC', app: '12345ms' })
    expect(db.dialect).toBe('postgres')
    await r.close()
  })

  it('opens MySQL (mariadb here)', async () => {
    const r = rt(myS.env)
    const db = await r.db()
    const v = await sql<{ v: string }>`select version() as v`.execute(db.kysely)
    expect(v.rows[0]!.v).toMatch(/MariaDB|^\d/)
    expect(db.transactionalDdl).toBe(false)
    await r.close()
  })

  it('an unreachable database is a ConnectError naming host:port, never a hang', async () => {
    const port = await closedPort()
    const t0 = Date.now()
    await expect(rt({ ...pgS.env, DB_PORT: String(port) }).db()).rejects.toSatisfy(
      (e: unknown) => e instanceof ConnectError && (e as Error).message.includes(`127.0.0.1:${port}`),
    )
    const hole = await blackhole()
    await expect(
      rt({ ...myS.env, DB_PORT: String(hole.port), DIFY_OPS_CONNECT_TIMEOUT: '1' }).db(),
    ).rejects.toBeInstanceOf(ConnectError)
    await expect(
      rt({ ...pgS.env, DB_PORT: String(hole.port), DIFY_OPS_CONNECT_TIMEOUT: '1' }).db(),
    ).rejects.toBeInstanceOf(ConnectError)
    await hole.close()
    expect(Date.now() - t0).toBeLessThan(10_000)
  })

  it('a missing database is a configuration error (exit 4)', async () => {
    await expect(rt({ ...pgS.env, DB_DATABASE: 'dops_no_such_db' }).db()).rejects.toBeInstanceOf(ConfigError)
  })

  it('Redis: app cache and the broker on its own DB index, with the key prefix', async () => {
    const r = rt(redisS.env)
    const cache = await r.redis()
    const broker = await r.broker()
    expect(cache.keyPrefix).toBe(redisS.prefix)
    await broker.client.set(`${broker.keyPrefix}probe`, '1')
    expect(await redisS.client.get(`${redisS.prefix}probe`)).toBeNull() // DB 0 does not see DB 1
    expect(await broker.client.get(`${broker.keyPrefix}probe`)).toBe('1')
    await r.close()
  })

  it('a hung Redis times out as a ConnectError', async () => {
    const hole = await blackhole()
    const t0 = Date.now()
    await expect(
      rt({ REDIS_HOST: '127.0.0.1', REDIS_PORT: String(hole.port), DIFY_OPS_CONNECT_TIMEOUT: '1' }).redis(),
    ).rejects.toBeInstanceOf(ConnectError)
    expect(Date.now() - t0).toBeLessThan(3000)
    await hole.close()
  })

  it('storage: OpenDAL fs round trip, list and delete', async () => {
    const root = mkdtempSync(join(tmpdir(), 'dops-st-'))
    const r = rt({ STORAGE_TYPE: 'opendal', OPENDAL_SCHEME: 'fs', OPENDAL_FS_ROOT: root })
    const s = await r.storage()
    await s.write('privkeys/t1/private.pem', 'PEM')
    expect((await s.read('privkeys/t1/private.pem')).toString()).toBe('PEM')
    expect(await s.exists('privkeys/t1/private.pem')).toBe(true)
    expect(await s.list('privkeys/')).toEqual(['privkeys/t1/private.pem'])
    expect(await s.readIfExists('privkeys/none.pem')).toBeUndefined()
    await s.delete('privkeys/t1/private.pem')
    expect(await s.exists('privkeys/t1/private.pem')).toBe(false)
    const legacy = await rt({ STORAGE_TYPE: 'local', STORAGE_LOCAL_PATH: root }).storage()
    expect(legacy.location).toBe(`fs:${root}`)
  })

  it('an unsupported storage type is a configuration error', async () => {
    await expect(rt({ STORAGE_TYPE: 'aliyun-oss' }).storage()).rejects.toBeInstanceOf(ConfigError)
  })
})
