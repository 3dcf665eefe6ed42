import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPairSync } from 'node:crypto'
import pg from 'pg'
import { runCli } from '../../support/cli.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { loadOracleSchema } from '../../support/dify-schema.js'
import { blackhole, closedPort } from '../../support/blackhole.js'
import { PG } from '../../support/services.js'

let db: Scratch
let redis: ScratchRedis
let storageRoot: string
let env: Record<string, string>

beforeAll(async () => {
  db = await scratchPg('doctor')
  redis = await scratchRedis('doctor')
  loadOracleSchema(db.name, '788d3099ae3a')
  storageRoot = mkdtempSync(join(tmpdir(), 'dops-doctor-'))
  env = {
    ...db.env,
    ...redis.env,
    STORAGE_TYPE: 'opendal',
    OPENDAL_SCHEME: 'fs',
    OPENDAL_FS_ROOT: storageRoot,
    VECTOR_STORE: 'pgvector',
    PGVECTOR_HOST: PG.host,
    PGVECTOR_PORT: String(PG.port),
    PGVECTOR_USER: 'postgres',
    PGVECTOR_DATABASE: db.name,
  }
})
afterAll(async () => {
  await db?.drop()
  await redis?.drop()
})

describe('dify doctor', () => {
  it("reports every check and the database's Dify release", async () => {
    const r = await runCli(['doctor', '--json'], { env })
    const names = r.json.checks.map((c: { name: string }) => c.name)
    expect(names).toEqual([
      'configuration',
      'metadata database',
      'redis',
      'schema',
      'celery broker',
      'storage',
      'vector store',
      'secret key',
      'tenant keys',
    ])
    expect(r.json.database).toEqual({ revision: '788d3099ae3a', release: '1.12.0–1.12.1', supported: true })
    const byName = Object.fromEntries(r.json.checks.map((c: { name: string; status: string }) => [c.name, c.status]))
    // no Celery worker runs here: the broker check warns that nothing would consume the release's queues
    expect(byName).toMatchObject({
      configuration: 'ok',
      'metadata database': 'ok',
      redis: 'ok',
      // the one-line result of dify db verify: Dify's own schema at its revision
      schema: 'ok',
      'celery broker': 'warn',
      storage: 'ok',
      'tenant keys': 'ok',
    })
    // pgvector may not be installed in this scratch database: reachable either way
    expect(['ok', 'warn']).toContain(byName['vector store'])
    expect(r.code).toBe(0)
  })

  it('finds a tenant whose private key is missing or does not match (exit 8)', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const c = new pg.Client({ ...PG, database: db.name })
    await c.connect()
    const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString().trimEnd()
    const t1 = '11111111-1111-4111-8111-111111111111'
    const t2 = '22222222-2222-4222-8222-222222222222'
    await c.query(
      `insert into tenants (id, name, encrypt_public_key) values ($1, 'missing key', $3), ($2, 'wrong key', $3)`,
      [t1, t2, pub],
    )
    mkdirSync(join(storageRoot, 'privkeys', t2), { recursive: true })
    writeFileSync(
      join(storageRoot, 'privkeys', t2, 'private.pem'),
      other.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString().trimEnd(),
    )
    try {
      const r = await runCli(['doctor', '--json'], { env })
      const keys = r.json.checks.find((x: { name: string }) => x.name === 'tenant keys')
      expect(keys.status).toBe('fail')
      const problems = keys.details.problems.map((p: { tenantId: string }) => p.tenantId).sort()
      expect(problems).toEqual([t1, t2])
      expect(r.code).toBe(8)
    } finally {
      await c.query('delete from tenants where id in ($1, $2)', [t1, t2])
      await c.end()
    }
  })

  it('flags a Dify queue that has messages and no live consumer (exit 8)', async () => {
    const { Redis } = await import('ioredis')
    const broker = new Redis({ host: '127.0.0.1', port: 6379, db: 1 })
    await broker.lpush(
      `${redis.prefix}dataset`,
      JSON.stringify({ body: '', headers: { task: 't', id: '1' }, properties: {} }),
    )
    try {
      const r = await runCli(['doctor', '--json'], { env })
      const c = r.json.checks.find((x: { name: string }) => x.name === 'celery broker')
      expect(c.status).toBe('fail')
      expect(c.details.noConsumer).toEqual(['dataset'])
      expect(c.details.depths.dataset).toBe(1)
      expect(r.code).toBe(8)
    } finally {
      await broker.del(`${redis.prefix}dataset`)
      broker.disconnect()
    }
  })

  it('with Redis down reports redis ✗ within 3 s and exits 5', async () => {
    const port = await closedPort()
    const r = await runCli(['doctor', '--json'], { env: { ...env, REDIS_PORT: String(port) } })
    const c = r.json.checks.find((x: { name: string }) => x.name === 'redis')
    expect(c.status).toBe('fail')
    expect(c.summary).toContain(`127.0.0.1:${port}`)
    expect(c.durationMs).toBeLessThan(3000)
    expect(r.code).toBe(5)
  })

  it('a hung Redis does not stall the other checks (each check has its own limit)', async () => {
    const hole = await blackhole()
    try {
      const r = await runCli(['doctor', '--json'], {
        env: { ...env, REDIS_PORT: String(hole.port), DIFY_OPS_CONNECT_TIMEOUT: '1' },
      })
      const c = r.json.checks.find((x: { name: string }) => x.name === 'redis')
      expect(c.status).toBe('fail')
      expect(c.durationMs).toBeLessThan(3000)
      expect(r.json.checks.find((x: { name: string }) => x.name === 'metadata database').status).toBe('ok')
      expect(r.code).toBe(5)
    } finally {
      await hole.close()
    }
  })

  it('DB_PORT=abc exits 4 naming DB_PORT', async () => {
    const r = await runCli(['doctor'], { env: { ...env, DB_PORT: 'abc' } })
    expect(r.code).toBe(4)
    expect(r.stdout + r.stderr).toContain('DB_PORT')
    const j = await runCli(['doctor', '--json'], { env: { ...env, DB_PORT: 'abc' } })
    expect(j.code).toBe(4)
    expect(j.json.checks[0]).toMatchObject({ name: 'configuration', status: 'fail' })
  })
})
