import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { indexStructJson } from '../../../src/dify/collections.js'
import { openDb } from '../../../src/runtime/db.js'
import { CheckpointStore } from '../../../src/vdb-migrate/checkpoint.js'
import { runCli } from '../../support/cli.js'
import { loadOracleSchema } from '../../support/dify-schema.js'
import { scratchMysql, scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { MYSQL, PG, REDIS } from '../../support/services.js'
import { DifySeeder } from '../../support/vdb-seed.js'
import { pgvectorVars } from '../../support/pgvector.js'

describe('vdb-migrate pre-flight', () => {
  let db: Scratch
  let redis: ScratchRedis
  let c: pg.Client
  let env: Record<string, string>
  let ds: string
  beforeAll(async () => {
    db = await scratchPg('vdbmigpre')
    loadOracleSchema(db.name, '788d3099ae3a')
    redis = await scratchRedis('vdbmigpre')
    c = new pg.Client({ ...PG, database: db.name })
    await c.connect()
    const s = new DifySeeder(c)
    ds = randomUUID()
    await s.dataset({ id: ds, indexStruct: indexStructJson('pgvector', `Vector_index_${ds.replace(/-/g, '_')}_Node`) })
    await s.document(ds, { status: 'indexing' })
    env = { ...db.env, ...redis.env, VECTOR_STORE: 'pgvector', ...pgvectorVars(db.name) }
  })
  afterAll(async () => {
    await c?.end()
    await db?.drop()
    await redis?.drop()
  })

  it('refuses (exit 6) while documents are being indexed or dataset tasks are queued; --dry-run only warns', async () => {
    // the dataset already points at pgvector: pass --from so it is selected as a source of the same type elsewhere
    const r = await runCli(['vdb-migrate', '--scope', 'knowledge'], {
      env: { ...env, VECTOR_STORE: 'chroma', CHROMA_HOST: '127.0.0.1', CHROMA_PORT: '8011' },
    })
    expect(r.code, r.stderr).toBe(6)
    expect(r.stderr).toMatch(/1 document\(s\) of the selected datasets are still being indexed/)
    await c.query(`update documents set indexing_status = 'completed'`)
    const broker = new Redis({ ...REDIS, db: 1 })
    await broker.rpush(`${redis.prefix}dataset`, '{}')
    const r2 = await runCli(['vdb-migrate', '--scope', 'knowledge', '--json'], {
      env: { ...env, VECTOR_STORE: 'chroma', CHROMA_HOST: '127.0.0.1', CHROMA_PORT: '8011' },
    })
    expect(r2.code).toBe(6)
    expect(r2.json.error.details.datasetQueues).toMatchObject({ dataset: 1 })
    const r3 = await runCli(['vdb-migrate', '--scope', 'knowledge', '--dry-run', '--json'], {
      env: { ...env, VECTOR_STORE: 'chroma', CHROMA_HOST: '127.0.0.1', CHROMA_PORT: '8011' },
    })
    expect(r3.code).toBe(0)
    expect(r3.json.warnings.join(' ')).toMatch(/dataset queues/)
    await broker.del(`${redis.prefix}dataset`)
    broker.disconnect()
  })

  it('--source-env-file without --from is a usage error', async () => {
    const r = await runCli(['vdb-migrate', '--source-env-file', '/nonexistent'], { env })
    expect(r.code).toBe(2)
  })

  it('flag problems are exit 2 before anything connects; --delete-source without a terminal needs --yes', async () => {
    const down = { ...env, DB_HOST: '127.0.0.1', DB_PORT: '1' }
    expect((await runCli(['vdb-migrate', '--shard', '3/2'], { env: down })).code).toBe(2)
    const r = await runCli(['vdb-migrate', '--delete-source'], { env: down })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--yes/)
  })
})

describe('checkpoint table on MySQL', () => {
  let m: Scratch
  beforeAll(async () => {
    m = await scratchMysql('vdbmigcp')
  })
  afterAll(async () => {
    await m?.drop()
  })
  it('creates, upserts, reads and removes rows', async () => {
    const db = await openDb(
      {
        type: 'mysql',
        host: MYSQL.host,
        port: MYSQL.port,
        user: MYSQL.user,
        password: '',
        database: m.name,
        extras: {},
      } as never,
      { connectTimeoutMs: 5000 },
    )
    try {
      const cps = new CheckpointStore(db)
      expect(await cps.get('dataset', 'x', 't')).toBeNull()
      const row = {
        unitKind: 'dataset' as const,
        unitId: 'x',
        targetKey: 't',
        targetCollection: 'c',
        sourceKey: 's',
        state: 'copying' as const,
        sourcePosition: 5,
        written: 4,
        detail: null,
      }
      await cps.put(row)
      await cps.put({ ...row, sourcePosition: 10, written: 9 })
      expect(await cps.get('dataset', 'x', 't')).toMatchObject({ sourcePosition: 10, written: 9, state: 'copying' })
      await cps.remove('dataset', 'x', 't')
      expect(await cps.get('dataset', 'x', 't')).toBeNull()
    } finally {
      await db.close()
    }
  })
})
