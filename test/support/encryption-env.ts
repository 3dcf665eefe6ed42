import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { PG } from './services.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from './scratch.js'
import { loadOracleSchema } from './dify-schema.js'
import { pgSink, seedTenants, type SeededTenant } from './encryption-seed.js'

/** A Dify 1.12 PG database + a Redis key space + an OpenDAL fs storage root, for the encryption commands. */
export interface EncryptionEnv {
  db: Scratch
  redis: ScratchRedis
  storageRoot: string
  env: Record<string, string>
  pg: pg.Client
  seed(count: number): Promise<SeededTenant[]>
  writeKey(path: string, pem: string): void
  readKey(path: string): string | undefined
  /** every file under the storage root with its content (to compare before/after) */
  storageSnapshot(): Record<string, string>
  close(): Promise<void>
}

export async function encryptionEnv(tag: string): Promise<EncryptionEnv> {
  const db = await scratchPg(tag)
  loadOracleSchema(db.name, '788d3099ae3a')
  const redis = await scratchRedis(tag)
  const storageRoot = mkdtempSync(join(tmpdir(), `dops-${tag}-`))
  const client = new pg.Client({ ...PG, database: db.name })
  await client.connect()
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
    env: { ...db.env, ...redis.env, STORAGE_TYPE: 'opendal', OPENDAL_SCHEME: 'fs', OPENDAL_FS_ROOT: storageRoot, EDITION: 'SELF_HOSTED' },
    pg: client,
    seed: (count) => seedTenants(pgSink(client), async (p, pem) => writeKey(p, pem), { count }),
    writeKey,
    readKey: (p) => (existsSync(join(storageRoot, p)) ? readFileSync(join(storageRoot, p), 'utf8') : undefined),
    storageSnapshot: () => snapshot(),
    async close() {
      await client.end()
      await db.drop()
      await redis.drop()
      rmSync(storageRoot, { recursive: true, force: true })
    },
  }
}

/** a dump of every §5 table and the tenants, for before/after comparisons */
export async function dumpTables(client: pg.Client): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {}
  for (const t of ['tenants', 'providers', 'provider_models', 'provider_credentials', 'provider_model_credentials', 'load_balancing_model_configs', 'tool_builtin_providers', 'tool_api_providers', 'tool_mcp_providers', 'tool_oauth_tenant_clients', 'datasource_providers', 'datasource_oauth_tenant_params', 'trigger_subscriptions', 'trigger_oauth_tenant_clients', 'data_source_api_key_auth_bindings', 'api_based_extensions', 'workflows']) {
    out[t] = (await client.query(`select * from ${t} order by id`)).rows
  }
  return out
}
