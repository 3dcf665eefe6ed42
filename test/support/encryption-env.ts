import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { PG, MYSQL } from './services.js'
import mysql from 'mysql2/promise'
import { scratchMysql, scratchPg, scratchRedis, type Scratch, type ScratchRedis } from './scratch.js'
import { createDifySchema, loadOracleSchema, openScratchDb } from './dify-schema.js'
import { mysqlSink, pgSink, seedTenants, type SeededTenant, type SeedSink } from './encryption-seed.js'
import { loadRelease } from './oracles.js'

/** run SQL written with $1… placeholders on either dialect; returns the rows */
export type Query = (text: string, params?: unknown[]) => Promise<any[]>

/** A Dify 1.12 PG database + a Redis key space + an OpenDAL fs storage root, for the encryption commands. */
export interface EncryptionEnv {
  db: Scratch
  redis: ScratchRedis
  storageRoot: string
  env: Record<string, string>
  pg: pg.Client
  dialect: 'postgres' | 'mysql'
  query: Query
  /** SQL for a column as text */
  text(column: string): string
  seed(count: number, opts?: Omit<Parameters<typeof seedTenants>[2], 'count'>): Promise<SeededTenant[]>
  sink: SeedSink
  writeKey(path: string, pem: string): void
  readKey(path: string): string | undefined
  /** every file under the storage root with its content (to compare before/after) */
  storageSnapshot(): Record<string, string>
  close(): Promise<void>
}

/**
 * `release`: build the schema of that Dify release with test/support/oracles.ts (loadRelease) instead of the 1.12
 * schema (PG: the 788d3099ae3a oracle; MariaDB: createDifySchema).
 */
export async function encryptionEnv(
  tag: string,
  dialect: 'postgres' | 'mysql' = 'postgres',
  opts: { release?: string } = {},
): Promise<EncryptionEnv> {
  let db: Scratch
  let client: pg.Client
  let my: mysql.Connection | undefined
  if (opts.release) {
    db = dialect === 'postgres' ? await scratchPg(tag) : await scratchMysql(tag)
    await loadRelease(db, dialect, opts.release)
    if (dialect === 'postgres') {
      client = new pg.Client({ ...PG, database: db.name })
      await client.connect()
    } else {
      my = await mysql.createConnection({ ...MYSQL, database: db.name })
      client = undefined as unknown as pg.Client
    }
  } else if (dialect === 'postgres') {
    db = await scratchPg(tag)
    loadOracleSchema(db.name, '788d3099ae3a')
    client = new pg.Client({ ...PG, database: db.name })
    await client.connect()
  } else {
    db = await scratchMysql(tag)
    const d = await openScratchDb(db.env)
    try {
      await createDifySchema(d)
    } finally {
      await d.close()
    }
    my = await mysql.createConnection({ ...MYSQL, database: db.name })
    client = undefined as unknown as pg.Client
  }
  const query: Query = async (text, params = []) => {
    if (my) return (await my.query(text.replace(/\$\d+/g, '?'), params))[0] as any[]
    return (await client.query(text, params)).rows
  }
  const redis = await scratchRedis(tag)
  const storageRoot = mkdtempSync(join(tmpdir(), `dops-${tag}-`))
  const writeKey = (path: string, pem: string) => {
    const f = join(storageRoot, path)
    mkdirSync(dirname(f), { recursive: true })
    writeFileSync(f, pem)
  }
  const snapshot = (dir = storageRoot, out: Record<string, string> = {}) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e)
      if (statSync(p).isDirectory()) snapshot(p, out)
      else out[p.slice(storageRoot.length + 1)] = readFileSync(p, 'utf8')
    }
    return out
  }
  return {
    db,
    redis,
    storageRoot,
    env: {
      ...db.env,
      ...redis.env,
      STORAGE_TYPE: 'opendal',
      OPENDAL_SCHEME: 'fs',
      OPENDAL_FS_ROOT: storageRoot,
      EDITION: 'SELF_HOSTED',
    },
    pg: client,
    dialect,
    query,
    text: (c) => (my ? `cast(${c} as char)` : `${c}::text`),
    seed: (count, o) =>
      seedTenants(my ? mysqlSink(my) : pgSink(client), async (p, pem) => writeKey(p, pem), { ...o, count }),
    sink: my ? mysqlSink(my) : pgSink(client),
    writeKey,
    readKey: (p) => (existsSync(join(storageRoot, p)) ? readFileSync(join(storageRoot, p), 'utf8') : undefined),
    storageSnapshot: () => snapshot(),
    async close() {
      if (my) await my.end()
      else await client.end()
      await db.drop()
      await redis.drop()
      rmSync(storageRoot, { recursive: true, force: true })
    },
  }
}

/** a dump of every §5 table and the tenants, for before/after comparisons */
export async function dumpTables(e: { query: Query }): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {}
  for (const t of [
    'tenants',
    'providers',
    'provider_models',
    'provider_credentials',
    'provider_model_credentials',
    'load_balancing_model_configs',
    'tool_builtin_providers',
    'tool_api_providers',
    'tool_mcp_providers',
    'tool_oauth_tenant_clients',
    'datasource_providers',
    'datasource_oauth_tenant_params',
    'trigger_subscriptions',
    'trigger_oauth_tenant_clients',
    'data_source_api_key_auth_bindings',
    'api_based_extensions',
    'workflows',
  ]) {
    out[t] = await e.query(`select * from ${t} order by id`)
  }
  return out
}
