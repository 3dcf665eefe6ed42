/**
 * `dify vdb-migrate` throughput, pgvector (database A) → pgvector (database B), next to the floor measured in the
 * same run on the same data.
 *   npx vite-node bench/vdb-migrate.ts          (BENCH_N=20000 BENCH_DIM=1536 by default; the issue asks for
 *                                                200 000 × 1536 — set BENCH_N=200000 on an idle machine)
 * Needs the local PostgreSQL with native pgvector and Redis; builds dist/ first (`npx tsc -p tsconfig.build.json`).
 *
 * Floor: server-side binary COPY of the source rows (exported to a file in COPY's binary format first, not timed;
 *   binary is the fastest COPY: no decimal parsing of 1536 floats per row) into Dify's table layout in database B,
 *   then Dify's HNSW index (m 16, ef_construction 64, maintenance_work_mem 512MB as the adapter).
 * vdb-migrate: the real CLI (`dify vdb-migrate --from pgvector --source-env-file …`) in a child process: scan,
 *   live-set join, COPY-staged upserts without the index, HNSW build, full verification, switch. Peak RSS = the
 *   child's VmHWM; CPU = the child's utime + stime (/proc, last sample before exit; the HNSW build runs in the
 *   PostgreSQL backend and is not in it). BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") go to the child;
 *   BENCH_RSS_LOG=FILE appends "<seconds> <VmRSS kB>" every 50 ms. BENCH_BATCH (500) and BENCH_CONCURRENCY (2) are
 *   the CLI's --batch-size and --concurrency.
 * Dify's order of work: the target table created with its HNSW index first, then per batch of 1000 one
 *   `embeddings` query per text (hits, decoded) and a multi-row INSERT into the indexed table (upstream
 *   Vector.create → CacheEmbedding.embed_documents → PGVector.add_texts). Measured on the first BENCH_DIFY_N
 *   segments (default 5 000; the cache rows are seeded for those only) and extrapolated: it is the slow one.
 * The source table gets no HNSW index (setup time; the scan reads it by primary key either way).
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { appendFile, chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import pg from 'pg'
import { parseConfig } from '../src/config/schema.js'
import {
  classPrefixForStore,
  indexStructJson,
  pgvectorHnswIndexName,
  pgvectorPhysicalTable,
} from '../src/dify/collections.js'
import { decodeFloatListPickle, difyTextHash } from '../src/dify/embedding-cache.js'
import { openVectorStore } from '../src/vector/index.js'
import { vectorLiteral } from '../src/vector/stores/pgvector.js'
import { loadOracleSchema } from '../test/support/dify-schema.js'
import { DifySeeder } from '../test/support/vdb-seed.js'
import { DIM, records, report, row, timed, type Row } from './vector-lib.js'

const N = Number(process.env.BENCH_N ?? 20000)
/** Dify's order is measured on the first BENCH_DIFY_N segments (it is the slow one) */
const DIFY_N = Math.min(N, Number(process.env.BENCH_DIFY_N ?? 5000))
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' }
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const tag = randomUUID().slice(0, 8)
const dbA = `dops_bench_vma_${tag}`
const dbB = `dops_bench_vmb_${tag}`
const admin = new pg.Client({ ...PG, database: 'postgres' })
await admin.connect()
await admin.query(`create database ${dbA}`)
await admin.query(`create database ${dbB}`)
const dir = await mkdtemp(join(tmpdir(), 'dops-bench-vm-'))
await chmod(dir, 0o777)
const rows: Row[] = []
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
const loadAtStart = load()
const cfg = (database: string) =>
  parseConfig(
    new Map(
      Object.entries({
        VECTOR_STORE: 'pgvector',
        PGVECTOR_HOST: PG.host,
        PGVECTOR_PORT: String(PG.port),
        PGVECTOR_USER: PG.user,
        PGVECTOR_PASSWORD: '',
        PGVECTOR_DATABASE: database,
      }).map(([k, v]) => [k, { value: v, source: 'environment' as const }]),
    ),
  )

/** pickle.dumps(list_of_floats, protocol=5) byte layout (one frame; batches of 1000 APPENDS). */
function pickle(v: number[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x5d, 0x94])]
  for (let i = 0; i < v.length; i += 1000) {
    const chunk = v.slice(i, i + 1000)
    const b = Buffer.alloc(2 + chunk.length * 9)
    b[0] = 0x28
    chunk.forEach((x, j) => {
      b[1 + j * 9] = 0x47
      b.writeDoubleBE(x, 2 + j * 9)
    })
    b[1 + chunk.length * 9] = 0x65
    parts.push(b)
  }
  parts.push(Buffer.from([0x2e]))
  const body = Buffer.concat(parts)
  const head = Buffer.alloc(11)
  head[0] = 0x80
  head[1] = 5
  head[2] = 0x95
  head.writeBigUInt64LE(BigInt(body.length), 3)
  return Buffer.concat([head, body])
}

try {
  // ---- setup (not timed): Dify 1.12 schema in A, one dataset of N segments, its vectors in A's pgvector table
  loadOracleSchema(dbA, '788d3099ae3a')
  const a = new pg.Client({ ...PG, database: dbA })
  a.on('error', () => {}) // the final DROP DATABASE … WITH (FORCE) ends it on a failed run
  await a.connect()
  const s = new DifySeeder(a)
  const ds = randomUUID()
  const coll = classPrefixForStore('pgvector', ds)!
  await s.dataset({ id: ds, indexStruct: indexStructJson('pgvector', coll) })
  const doc = await s.document(ds)
  const src = await openVectorStore(cfg(dbA))
  await src.ensureCollection({ collection: coll }, DIM, { deferIndex: true })
  let pos = 0
  for (const batch of records(N, 1000)) {
    await src.upsert({ collection: coll }, batch)
    await a.query(
      `insert into document_segments (id, tenant_id, dataset_id, document_id, position, content, word_count, tokens, hit_count, enabled, status, created_by, index_node_id, index_node_hash)
       select gen_random_uuid(), $1, $2, $3, $4 + u.ord, u.t, 1, 1, 0, true, 'completed', $5, u.id, 'h' from unnest($6::text[], $7::text[]) with ordinality as u(id, t, ord)`,
      [s.tenantId, ds, doc, pos, s.userId, batch.map((r) => r.docId), batch.map((r) => r.text)],
    )
    // Dify's embedding cache rows for the same texts (for the "Dify's order" measure, which reads the first DIFY_N)
    if (pos < DIFY_N)
      await a.query(
        `insert into embeddings (id, model_name, hash, embedding, provider_name) select gen_random_uuid(), 'text-embedding-3-small', u.h, u.e, 'langgenius/openai/openai' from unnest($1::text[], $2::bytea[]) as u(h, e)`,
        [batch.map((r) => difyTextHash(r.text)), batch.map((r) => pickle(r.vector))],
      )
    pos += batch.length
  }
  const srcTable = pgvectorPhysicalTable(coll)
  const file = join(dir, 'rows.copy')
  await a.query(`copy (select id, text, meta, embedding from ${srcTable}) to '${file}' with (format binary)`)
  await src.close()

  const b = new pg.Client({ ...PG, database: dbB })
  b.on('error', () => {})
  await b.connect()
  await b.query('create extension vector')

  // ---- floor: COPY into Dify's layout, then Dify's HNSW index
  const floorT = 'embedding_floor_table'
  await b.query(
    `create table ${floorT} (id uuid primary key, text text not null, meta jsonb not null, embedding vector(${DIM}) not null) using heap`,
  )
  const copy = await timed(() =>
    b.query(`copy ${floorT} (id, text, meta, embedding) from '${file}' with (format binary)`),
  )
  await b.query(`set maintenance_work_mem = '512MB'`)
  const idx = await timed(() =>
    b.query(`create index on ${floorT} using hnsw (embedding vector_cosine_ops) with (m = 16, ef_construction = 64)`),
  )
  await b.query('reset maintenance_work_mem')
  await rm(file, { force: true })
  rows.push(row('floor: COPY (server file, binary)', N, copy.seconds))
  rows.push(row('floor: HNSW build', N, idx.seconds))
  const floorS = copy.seconds + idx.seconds
  rows.push(row('floor: COPY + HNSW', N, floorS))
  console.log(`floor so far (load average ${load()}): ${JSON.stringify(rows)}`)
  await b.query(`drop table ${floorT}`)

  // ---- vdb-migrate: the real CLI, peak RSS of the child
  const srcEnv = join(dir, 'source.env')
  await writeFile(
    srcEnv,
    `PGVECTOR_HOST=${PG.host}\nPGVECTOR_PORT=${PG.port}\nPGVECTOR_USER=${PG.user}\nPGVECTOR_PASSWORD=\nPGVECTOR_DATABASE=${dbA}\n`,
  )
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    DB_TYPE: 'postgresql',
    DB_HOST: PG.host,
    DB_PORT: String(PG.port),
    DB_USERNAME: PG.user,
    DB_PASSWORD: '',
    DB_DATABASE: dbA,
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: '6379',
    REDIS_KEY_PREFIX: `dops_bench_${tag}`,
    VECTOR_STORE: 'pgvector',
    PGVECTOR_HOST: PG.host,
    PGVECTOR_PORT: String(PG.port),
    PGVECTOR_USER: PG.user,
    PGVECTOR_PASSWORD: '',
    PGVECTOR_DATABASE: dbB,
  }
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const args = [
    ...nodeArgs,
    BIN,
    'vdb-migrate',
    '--json',
    '--scope',
    'knowledge',
    '--from',
    'pgvector',
    '--source-env-file',
    srcEnv,
    '--batch-size',
    String(process.env.BENCH_BATCH ?? 500),
    '--concurrency',
    String(process.env.BENCH_CONCURRENCY ?? 2),
  ]
  let peakKb = 0
  let cpuTicks = 0
  const t0 = process.hrtime.bigint()
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const poll = setInterval(async () => {
    try {
      const st = await readFile(`/proc/${child.pid}/status`, 'utf8')
      const m = st.match(/VmHWM:\s+(\d+)/)
      if (m) peakKb = Math.max(peakKb, Number(m[1]))
      if (process.env.BENCH_RSS_LOG)
        await appendFile(
          process.env.BENCH_RSS_LOG,
          `${Number(process.hrtime.bigint() - t0) / 1e9} ${st.match(/VmRSS:\s+(\d+)/)?.[1]}\n`,
        )
      const f = (await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
      cpuTicks = Number(f[11]) + Number(f[12]) // utime + stime (fields 14, 15)
    } catch {
      /* exited */
    }
  }, 50)
  const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? -1)))
  clearInterval(poll)
  const migS = Number(process.hrtime.bigint() - t0) / 1e9
  const res = JSON.parse(out)
  console.log(
    `vdb-migrate: ${migS.toFixed(1)} s, CLI CPU ${(cpuTicks / 100).toFixed(1)} s, peak RSS ${Math.round(peakKb / 1024)} MB, load average ${load()}`,
  )
  console.log(
    `unit: ${res.units?.[0]?.outcome} ${res.units?.[0]?.reason ?? ''} warnings ${JSON.stringify(res.units?.[0]?.warnings ?? [])}`,
  )
  if (code !== 0 || res.units[0].outcome !== 'migrated')
    throw new Error(`vdb-migrate exited ${code}: ${out.slice(0, 2000)}`)
  const cpuS = cpuTicks / 100
  rows.push(
    row(
      'vdb-migrate (CLI, whole run incl. start-up and verification)',
      N,
      migS,
      `${Math.round((floorS / migS) * 100)}% of the floor's rate; CLI CPU ${cpuS.toFixed(1)} s`,
    ),
  )

  // ---- Dify's order: indexed table first, one cache query per text, INSERT per batch of 1000
  const difyT = 'embedding_dify_order'
  await b.query(
    `create table ${difyT} (id uuid primary key, text text not null, meta jsonb not null, embedding vector(${DIM}) not null) using heap`,
  )
  await b.query(`create index on ${difyT} using hnsw (embedding vector_cosine_ops) with (m = 16, ef_construction = 64)`)
  const a2 = new pg.Client({ ...PG, database: dbA })
  a2.on('error', () => {})
  await a2.connect()
  const dify = await timed(async () => {
    let after = -1
    for (let done = 0; done < DIFY_N; done += 1000) {
      const seg = await a2.query(
        `select index_node_id, content, document_id, position from document_segments where dataset_id = $1 and position > $2 order by position limit ${Math.min(1000, DIFY_N - done)}`,
        [ds, after],
      )
      if (!seg.rows.length) break
      const vecs: string[] = []
      for (const r of seg.rows) {
        const e = await a2.query(
          `select embedding from embeddings where model_name = $1 and hash = $2 and provider_name = $3 limit 1`,
          ['text-embedding-3-small', difyTextHash(r.content), 'langgenius/openai/openai'],
        )
        vecs.push(vectorLiteral(decodeFloatListPickle(e.rows[0].embedding)))
      }
      await b.query(
        `insert into ${difyT} (id, text, meta, embedding) select * from unnest($1::uuid[], $2::text[], $3::jsonb[], $4::vector[])`,
        [
          seg.rows.map((r) => r.index_node_id),
          seg.rows.map((r) => r.content),
          seg.rows.map((r) =>
            JSON.stringify({ doc_id: r.index_node_id, doc_hash: 'h', document_id: r.document_id, dataset_id: ds }),
          ),
          vecs,
        ],
      )
      after = seg.rows[seg.rows.length - 1].position
    }
  })
  rows.push(
    row(
      "Dify's order (cache query per text + INSERT into the indexed table)",
      DIFY_N,
      dify.seconds,
      DIFY_N < N
        ? `first ${DIFY_N} of ${N}; at this rate ${N} would take ${Math.round((dify.seconds * N) / DIFY_N)} s (extrapolated; its inserts slow down as the index grows)`
        : undefined,
    ),
  )
  await a2.end()
  report(`vdb-migrate pgvector → pgvector, ${N} × ${DIM}`, rows, {
    peakRssMb: Math.round(peakKb / 1024),
    cliCpuSeconds: cpuS,
    loadAvgStart: loadAtStart,
    loadAvgEnd: load(),
    indexName: pgvectorHnswIndexName(coll),
  })
  console.log(
    `vdb-migrate peak RSS: ${Math.round(peakKb / 1024)} MB, CLI CPU ${cpuS.toFixed(1)} s (user+sys), load average ${loadAtStart} → ${load()}`,
  )
  await a.end()
  await b.end()
} finally {
  await admin.query(`drop database if exists ${dbA} with (force)`).catch(() => {})
  await admin.query(`drop database if exists ${dbB} with (force)`).catch(() => {})
  await admin.end()
  await rm(dir, { recursive: true, force: true })
  // the CLI's audit stream under this run's REDIS_KEY_PREFIX
  const r = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true })
  await r
    .connect()
    .then(() => r.del(`dops_bench_${tag}:dify_ops:audit`))
    .catch(() => {})
  r.disconnect()
}
