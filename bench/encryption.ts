/**
 * Benchmark of the tenant-key commands (docs/encryption.md): key generation one at a time vs in parallel
 * (crypto.generateKeyPair on libuv's thread pool), then `encryption rotate` and `reset-encrypt-key-pair` over
 * BENCH_TENANTS tenants (default 500) with 20 secrets each, on a scratch PostgreSQL database with Dify's schema and
 * an OpenDAL fs storage. Runs the domain functions directly (no CLI start-up in the figures).
 *   npx vite-node bench/encryption.ts          (or: node --import tsx bench/encryption.ts)
 * BENCH_KEYS (default 48) keys for the key-generation comparison; BENCH_CONCURRENCY (default 4);
 * BENCH_PARTS (default keygen,rotate,reset) to run only some parts.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { generateTenantKeyPair, generateTenantKeyPairSync } from '../src/crypto/tenant-key.js'
import { pool } from '../src/encryption/check.js'
import { rotateKeys } from '../src/encryption/rotate.js'
import { executeReset, planReset } from '../src/encryption/reset.js'
import { loadConfig } from '../src/config/schema.js'
import { openDb } from '../src/runtime/db.js'
import { openStorage } from '../src/runtime/storage.js'
import { openRedis } from '../src/runtime/redis.js'
import { scratchPg, scratchRedis } from '../test/support/scratch.js'
import { loadOracleSchema } from '../test/support/dify-schema.js'
import { pgSink, seedTenants } from '../test/support/encryption-seed.js'
import { PG } from '../test/support/services.js'

const TENANTS = Number(process.env.BENCH_TENANTS ?? 500)
const KEYS = Number(process.env.BENCH_KEYS ?? 48)
const CONC = Number(process.env.BENCH_CONCURRENCY ?? 4)
const PARTS = new Set((process.env.BENCH_PARTS ?? 'keygen,rotate,reset').split(','))
const now = () => performance.now()
const line = (k: string, v: string) => console.log(`  ${k.padEnd(52)} ${v}`)

const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function keygen() {
  const { loadavg } = await import('node:os')
  console.log(
    `\nRSA-2048 key generation, ${KEYS} keys, ${availableParallelism()} CPUs, load average ${loadavg()[0]!.toFixed(1)}`,
  )
  const c0 = cpuMs()
  let t = now()
  for (let i = 0; i < KEYS; i++) generateTenantKeyPairSync()
  const sync = now() - t
  const cpuPerKey = (cpuMs() - c0) / KEYS
  t = now()
  for (let i = 0; i < KEYS; i++) await generateTenantKeyPair()
  const seq = now() - t
  t = now()
  const cPar = cpuMs()
  await pool(Array.from({ length: KEYS }), CONC, async () => void (await generateTenantKeyPair()))
  const par = now() - t
  const coresUsed = (cpuMs() - cPar) / par
  line('CPU time per key', `${cpuPerKey.toFixed(0)} ms`)
  line(
    'one at a time (generateKeyPairSync)',
    `${(sync / KEYS).toFixed(0)} ms/key, ${((KEYS * 1000) / sync).toFixed(1)} keys/s`,
  )
  line(
    'one at a time (async, awaited)',
    `${(seq / KEYS).toFixed(0)} ms/key, ${((KEYS * 1000) / seq).toFixed(1)} keys/s`,
  )
  line(
    `parallel (async, ${CONC} in flight)`,
    `${(par / KEYS).toFixed(0)} ms/key, ${((KEYS * 1000) / par).toFixed(1)} keys/s`,
  )
  line(
    'CPU cores this process got while parallel',
    `${coresUsed.toFixed(2)} (of ${availableParallelism()}; the rest went to other processes)`,
  )
  line('speed-up of parallel over one at a time (async)', `${(seq / par).toFixed(2)}×`)
  line('speed-up of parallel over generateKeyPairSync', `${(sync / par).toFixed(2)}×`)
}

async function commands() {
  console.log(`\nrotate and reset, ${TENANTS} tenants × 20 secrets (PostgreSQL, Dify 1.12 schema, OpenDAL fs)`)
  const scratch = await scratchPg('benchenc')
  const redisScratch = await scratchRedis('benchenc')
  const root = mkdtempSync(join(tmpdir(), 'dops-bench-enc-'))
  const client = new pg.Client({ ...PG, database: scratch.name })
  try {
    loadOracleSchema(scratch.name, '788d3099ae3a')
    await client.connect()
    let t = now()
    const shared = await generateTenantKeyPair()
    await seedTenants(
      pgSink(client),
      async (p, pem) => {
        mkdirSync(dirname(join(root, p)), { recursive: true })
        writeFileSync(join(root, p), pem)
      },
      { count: TENANTS, sharedKey: shared },
    )
    line('seeding (one shared key)', `${((now() - t) / 1000).toFixed(1)} s`)
    const cfg = loadConfig({
      env: {
        ...scratch.env,
        ...redisScratch.env,
        STORAGE_TYPE: 'opendal',
        OPENDAL_SCHEME: 'fs',
        OPENDAL_FS_ROOT: root,
      },
      noDotenv: true,
    })
    const db = await openDb(cfg.db, { connectTimeoutMs: 5000 })
    const storage = await openStorage(cfg.storage)
    const redis = await openRedis(cfg.redis, 5000)
    const deps = { db, storage, redis: async () => redis }
    try {
      if (PARTS.has('rotate')) {
        t = now()
        const r = await rotateKeys(deps, { concurrency: CONC })
        const rot = (now() - t) / 1000
        if (r.summary.failed || r.summary.reencrypted !== TENANTS * 20)
          throw new Error(`rotate: ${JSON.stringify(r.summary)}`)
        line(
          `rotate (${CONC} in flight)`,
          `${rot.toFixed(1)} s, ${(TENANTS / rot).toFixed(1)} tenants/s, ${((TENANTS * 20) / rot).toFixed(0)} secrets/s`,
        )
      }
      if (!PARTS.has('reset')) return
      const half = Math.floor(TENANTS / 2)
      const tenants = (await client.query('select id from tenants order by created_at, id')).rows.map(
        (x) => x.id as string,
      )
      for (const [label, ids, conc] of [
        [`reset (${CONC} in flight)`, tenants.slice(0, half), CONC],
        ['reset (one tenant at a time)', tenants.slice(half), 1],
      ] as const) {
        const input = { edition: 'SELF_HOSTED', tenantIds: [...ids], concurrency: conc }
        t = now()
        const plan = await planReset({ db, storage }, input)
        const res = await executeReset(deps, plan, input)
        const s = (now() - t) / 1000
        if (res.summary.failed) throw new Error(`reset: ${JSON.stringify(res.summary)}`)
        line(`${label}, ${ids.length} tenants`, `${s.toFixed(1)} s, ${(ids.length / s).toFixed(1)} tenants/s`)
      }
    } finally {
      await db.close()
      await redis.close()
    }
  } finally {
    await client.end().catch(() => {})
    await scratch.drop()
    await redisScratch.drop()
    rmSync(root, { recursive: true, force: true })
  }
}

if (PARTS.has('keygen')) await keygen()
if (PARTS.has('rotate') || PARTS.has('reset')) await commands()
