/**
 * `dify vdb check` over one pgvector dataset of BENCH_N vectors (default 200 000) of dimension BENCH_DIM
 * (default 1536): items per second and peak RSS of the real CLI process (/usr/bin/time).
 *   npm run build && npx vite-node bench/vdb-check.ts
 * Needs native pgvector on 127.0.0.1:5432 (scripts/services/pgvector.sh). Seeds a scratch database with Dify's
 * 1.12 schema: BENCH_N live segments, the pgvector table (no HNSW index: check never uses it), 100 missing and 100
 * orphan vectors, and an embedding cache row for every text. Every vector is the same unit vector (seeding is done
 * in SQL; the check decodes every stored vector all the same). Drops the database at the end (BENCH_KEEP=1 keeps
 * it). BENCH_NODE_OPTIONS is passed to the CLI process as NODE_OPTIONS (e.g. V8 heap limits).
 * BENCH_DB=<name> re-runs the check on a database kept by an earlier run (BENCH_KEEP=1) without seeding or dropping
 * it; BENCH_RUNS=k runs the check k times.
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { genCollectionNameById, indexStructJson, pgvectorPhysicalTable } from '../src/dify/collections.js'
import { loadOracleSchema } from '../test/support/dify-schema.js'
import { PG, PYTHON } from '../test/support/services.js'

const N = Number(process.env.BENCH_N ?? 200_000)
const DIM = Number(process.env.BENCH_DIM ?? 1536)
const SAMPLE = Number(process.env.BENCH_SAMPLE ?? 1000)
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const REUSE = process.env.BENCH_DB
const RUNS = Number(process.env.BENCH_RUNS ?? 1)
const dbName = REUSE ?? `dops_benchvdb_${randomUUID().slice(0, 8)}`

const admin = new pg.Client({ ...PG, database: 'postgres' })
await admin.connect()
if (!REUSE) await admin.query(`create database ${dbName}`)
const c = new pg.Client({ ...PG, database: dbName })
try {
  const t0 = Date.now()
  let dataset: string
  let table: string
  if (REUSE) {
    await c.connect()
    dataset = (await c.query(`select id from datasets limit 1`)).rows[0].id
    table = pgvectorPhysicalTable(genCollectionNameById(dataset))
  } else {
    loadOracleSchema(dbName, '788d3099ae3a')
    await c.connect()
    await c.query('create extension if not exists vector')
    const tenant = randomUUID()
    const user = randomUUID()
    dataset = randomUUID()
    const document = randomUUID()
    const collection = genCollectionNameById(dataset)
    table = pgvectorPhysicalTable(collection)
    await c.query(
      `insert into datasets (id, tenant_id, name, provider, permission, created_by, indexing_technique, index_struct, embedding_model, embedding_model_provider)
       values ($1, $2, 'bench', 'vendor', 'only_me', $3, 'high_quality', $4, 'text-embedding-3-small', 'langgenius/openai/openai')`,
      [dataset, tenant, user, indexStructJson('pgvector', collection)],
    )
    await c.query(
      `insert into documents (id, tenant_id, dataset_id, position, data_source_type, batch, name, created_from, created_by, indexing_status, doc_form)
       values ($1, $2, $3, 1, 'upload_file', 'b', 'bench.txt', 'web', $4, 'completed', 'text_model')`,
      [document, tenant, dataset, user],
    )
    await c.query(
      `insert into document_segments (tenant_id, dataset_id, document_id, position, content, word_count, tokens, hit_count, status, created_by, index_node_id, index_node_hash)
       select $1, $2, $3, i, 'Benchmark segment ' || i || ': lorem ipsum dolor sit amet', 40, 10, 0, 'completed', $4, gen_random_uuid()::text,
              encode(sha256(('Benchmark segment ' || i || ': lorem ipsum dolor sit amet' || 'None')::bytea), 'hex')
         from generate_series(1, $5) i`,
      [tenant, dataset, document, user, N],
    )
    // one unit vector (float32-exact values), its pickle as Python writes it
    const v = Array.from({ length: DIM }, (_, i) => Math.fround(1 / Math.sqrt(DIM)) * (i % 2 ? 1 : -1))
    const pickle = execFileSync(
      PYTHON,
      [
        '-c',
        'import pickle,sys,json; sys.stdout.buffer.write(pickle.dumps([float(x) for x in json.loads(sys.stdin.read())], protocol=5))',
      ],
      { input: JSON.stringify(v) },
    )
    await c.query(
      `create table ${table} (id uuid primary key, text text not null, meta jsonb not null, embedding vector(${DIM}) not null) using heap`,
    )
    await c.query(
      `insert into ${table} (id, text, meta, embedding)
       select index_node_id::uuid, content,
              jsonb_build_object('doc_id', index_node_id, 'doc_hash', index_node_hash, 'document_id', document_id, 'dataset_id', dataset_id), $1::vector
         from document_segments where dataset_id = $2`,
      [`[${v.join(',')}]`, dataset],
    )
    // drift: 100 missing, 100 orphans
    await c.query(`delete from ${table} where id in (select id from ${table} order by text limit 100)`)
    await c.query(
      `insert into ${table} select gen_random_uuid(), 'orphan', '{}'::jsonb, $1::vector from generate_series(1, 100)`,
      [`[${v.join(',')}]`],
    )
    await c.query(
      `insert into embeddings (model_name, provider_name, hash, embedding)
       select 'text-embedding-3-small', 'langgenius/openai/openai', index_node_hash, $1 from document_segments where dataset_id = $2`,
      [pickle, dataset],
    )
    await c.query(`vacuum analyze ${table}`)
    await c.query('analyze') // fresh statistics, as autovacuum would have them on a real deployment
  }
  const seedSeconds = (Date.now() - t0) / 1000
  const [{ size }] = (await c.query(`select pg_size_pretty(pg_total_relation_size('${table}')) as size`)).rows

  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    DB_TYPE: 'postgresql',
    DB_HOST: PG.host,
    DB_PORT: String(PG.port),
    DB_USERNAME: PG.user,
    DB_PASSWORD: '',
    DB_DATABASE: dbName,
    VECTOR_STORE: 'pgvector',
    PGVECTOR_HOST: PG.host,
    PGVECTOR_PORT: String(PG.port),
    PGVECTOR_USER: PG.user,
    PGVECTOR_PASSWORD: '',
    PGVECTOR_DATABASE: dbName,
  }
  const run = () =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      if (process.env.BENCH_NODE_OPTIONS) Object.assign(env, { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS })
      const p = spawn(
        '/usr/bin/time',
        [
          '-f',
          'TIME %e %U %S %M',
          process.execPath,
          BIN,
          'vdb',
          'check',
          '--dataset',
          dataset,
          '--sample',
          String(SAMPLE),
          '--json',
        ],
        { env },
      )
      let stdout = ''
      let stderr = ''
      p.stdout.on('data', (d) => (stdout += d))
      p.stderr.on('data', (d) => (stderr += d))
      p.on('error', reject)
      p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }))
    })
  for (let k = 0; k < RUNS; k++) {
    const r = await run()
    const m = r.stderr.match(/TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/)
    if (!m) throw new Error(`no timing: ${r.stderr}`)
    const [wall, user_, sys, maxKb] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]
    const json = JSON.parse(r.stdout)
    const t = json.targets[0]
    console.log(
      JSON.stringify(
        {
          vectors: t.stored,
          live: t.live.total,
          dimension: DIM,
          exitCode: r.code,
          found: { missing: t.missing, orphaned: t.orphaned, sample: t.sample },
          seedSeconds,
          tableSize: size,
          checkSeconds: wall,
          cpuSeconds: Math.round((user_ + sys) * 100) / 100,
          itemsPerSecond: Math.round((t.stored + t.live.total) / wall),
          vectorsPerSecond: Math.round(t.stored / wall),
          peakRssMb: Math.round(maxKb / 1024),
        },
        null,
        2,
      ),
    )
  }
} finally {
  await c.end().catch(() => {})
  if (process.env.BENCH_KEEP || REUSE) console.log(`kept database ${dbName}`)
  else await admin.query(`drop database if exists ${dbName} with (force)`)
  await admin.end()
}
