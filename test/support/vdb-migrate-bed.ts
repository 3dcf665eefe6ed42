/**
 * The scratch set-up the vdb-migrate tests share: a metadata database at the revision of Dify 1.15.0 that is also
 * the pgvector source, a Redis key space, a client on the database, the source and the target stores, and the CLI's
 * environment pointing at them (VECTOR_STORE = the target). The target is Chroma (the service of
 * scripts/services/) or pgvector in a second scratch database.
 */
import pg from 'pg'
import { openVectorStore } from '../../src/vector/index.js'
import type { VectorStore } from '../../src/vector/store.js'
import { configFromVars as cfg } from './config.js'
import { loadOracleSchema } from './dify-schema.js'
import { pgvectorVars } from './pgvector.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from './scratch.js'
import { PG } from './services.js'

export const CHROMA = { host: '127.0.0.1', port: Number(process.env.CHROMA_TEST_PORT ?? 8011) }
export const chromaVars = { CHROMA_HOST: CHROMA.host, CHROMA_PORT: String(CHROMA.port) }

export async function chromaAvailable(): Promise<boolean> {
  return fetch(`http://${CHROMA.host}:${CHROMA.port}/api/v2/heartbeat`).then(
    (r) => r.ok,
    () => false,
  )
}

export interface MigrateBed {
  /** the metadata database, also the pgvector source */
  db: Scratch
  /** pgvector targets: the second database that holds the target */
  targetDb?: Scratch
  redis: ScratchRedis
  c: pg.Client
  src: VectorStore
  dst: VectorStore
  /** the CLI's environment: metadata database, Redis, VECTOR_STORE = the target and its variables */
  env: Record<string, string>
  /** closes the stores and the client, drops the scratch databases and key space */
  close(): Promise<void>
}

export async function migrateBed(name: string, target: 'chroma' | 'pgvector'): Promise<MigrateBed> {
  const db = await scratchPg(name)
  loadOracleSchema(db.name, '788d3099ae3a')
  const targetDb = target === 'pgvector' ? await scratchPg(`${name}t`) : undefined
  const redis = await scratchRedis(name)
  const c = new pg.Client({ ...PG, database: db.name })
  await c.connect()
  const targetVars = targetDb ? pgvectorVars(targetDb.name) : { ...pgvectorVars(db.name), ...chromaVars }
  const src = await openVectorStore(cfg({ VECTOR_STORE: 'pgvector', ...pgvectorVars(db.name) }))
  const dst = await openVectorStore(cfg({ VECTOR_STORE: target, ...targetVars }))
  return {
    db,
    targetDb,
    redis,
    c,
    src,
    dst,
    env: { ...db.env, ...redis.env, VECTOR_STORE: target, ...targetVars },
    async close() {
      await src.close()
      await dst.close()
      await c.end()
      await db.drop()
      await targetDb?.drop()
      await redis.drop()
    },
  }
}
