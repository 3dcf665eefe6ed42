/**
 * pgvector adapter throughput at dimension 1536 next to the store's own floor, in the same run.
 *   npx vite-node bench/vector-pgvector.ts        (BENCH_N=10000 BENCH_DIM=1536 by default)
 * Needs the local PostgreSQL with native pgvector (scripts/services/pgvector.sh). Uses a scratch database.
 *
 * Floor (write): server-side COPY of a prepared text file into Dify's table layout, then building Dify's HNSW index
 *   (same maintenance_work_mem as the adapter); also COPY into the already-indexed table.
 * Adapter (write): ensureCollection({deferIndex}) + upsert batches + finishBulkLoad; and upsert into the indexed table.
 * Floor (scan): server-side COPY (select …) TO a file — the server's own export, no client decoding.
 * Adapter (scan): scan() in batches of 500, vectors decoded to numbers; peak RSS sampled.
 */
import { createWriteStream } from 'node:fs'
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { parseConfig } from '../src/config/schema.js'
import { genCollectionNameById, pgvectorHnswIndexName, pgvectorPhysicalTable } from '../src/dify/collections.js'
import { openVectorStore } from '../src/vector/index.js'
import { vectorLiteral } from '../src/vector/stores/pgvector.js'
import { DIM, peakRss, records, report, row, timed, type Row } from './vector-lib.js'
import { randomUUID } from 'node:crypto'

const N = Number(process.env.BENCH_N ?? 10000)
const BATCH = 500
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' }
const dbName = `dops_bench_vec_${randomUUID().slice(0, 8)}`

const admin = new pg.Client({ ...PG, database: 'postgres' })
await admin.connect()
await admin.query(`create database ${dbName}`)
const db = new pg.Client({ ...PG, database: dbName })
await db.connect()
await db.query('create extension vector')
const dir = await mkdtemp(join(tmpdir(), 'dops-bench-'))
await chmod(dir, 0o777) // the server process reads and writes the COPY files
const rows: Row[] = []

try {
  // ---- prepare the COPY file (not timed): Dify's columns, text format
  const file = join(dir, 'rows.copy')
  const ws = createWriteStream(file)
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
  for (const b of records(N, BATCH)) {
    for (const r of b) ws.write(`${r.docId}\t${esc(r.text)}\t${esc(JSON.stringify(r.metadata))}\t${vectorLiteral(r.vector)}\n`)
  }
  await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())))
  await chmod(file, 0o644)
  const sizeMb = Math.round((await stat(file)).size / 1048576)

  const difyTable = async (collection: string, withIndex: boolean) => {
    const t = pgvectorPhysicalTable(collection)
    await db.query(`create table "${t}" (id uuid primary key, text text not null, meta jsonb not null, embedding vector(${DIM}) not null) using heap`)
    if (withIndex) await db.query(`create index "${pgvectorHnswIndexName(collection)}" on "${t}" using hnsw (embedding vector_cosine_ops) with (m = 16, ef_construction = 64)`)
    return t
  }

  // ---- floor: COPY, then HNSW
  const c1 = genCollectionNameById(randomUUID())
  const t1 = await difyTable(c1, false)
  const copy = await timed(() => db.query(`copy "${t1}" (id, text, meta, embedding) from '${file}'`))
  await db.query(`set maintenance_work_mem = '512MB'`)
  const idx = await timed(() => db.query(`create index "${pgvectorHnswIndexName(c1)}" on "${t1}" using hnsw (embedding vector_cosine_ops) with (m = 16, ef_construction = 64)`))
  await db.query('reset maintenance_work_mem')
  rows.push(row('floor: COPY into Dify table (no index)', N, copy.seconds, `${sizeMb} MB text`))
  rows.push(row("floor: build Dify's HNSW index", N, idx.seconds))
  rows.push(row('floor: COPY + HNSW (bulk load)', N, copy.seconds + idx.seconds))

  const c2 = genCollectionNameById(randomUUID())
  const t2 = await difyTable(c2, true)
  const copyIdx = await timed(() => db.query(`copy "${t2}" (id, text, meta, embedding) from '${file}'`))
  rows.push(row('floor: COPY into the indexed table', N, copyIdx.seconds))

  // ---- adapter
  const raw = new Map(Object.entries({ PGVECTOR_HOST: PG.host, PGVECTOR_PORT: String(PG.port), PGVECTOR_USER: PG.user, PGVECTOR_DATABASE: dbName })
    .map(([k, v]) => [k, { value: v, source: 'environment' as const }]))
  const store = await openVectorStore(parseConfig(raw), { type: 'pgvector' })
  const a1 = { collection: genCollectionNameById(randomUUID()) }
  const bulk = await timed(async () => {
    await store.ensureCollection(a1, DIM, { deferIndex: true })
    let gen = 0
    const up = { s: 0 }
    for (const b of records(N, BATCH)) {
      const t0 = process.hrtime.bigint()
      await store.upsert(a1, b)
      up.s += Number(process.hrtime.bigint() - t0) / 1e9
      gen++
    }
    const fin = await timed(() => store.finishBulkLoad(a1))
    return { up: up.s, index: fin.seconds, gen }
  })
  rows.push(row('adapter: upsert (no index), excl. data generation', N, bulk.value.up))
  rows.push(row('adapter: finishBulkLoad (HNSW)', N, bulk.value.index))
  rows.push(row('adapter: bulk load total (upsert + HNSW)', N, bulk.value.up + bulk.value.index))

  const a2 = { collection: genCollectionNameById(randomUUID()) }
  await store.ensureCollection(a2, DIM)
  let upIdx = 0
  for (const b of records(N, BATCH)) upIdx += (await timed(() => store.upsert(a2, b))).seconds
  rows.push(row('adapter: upsert into the indexed table', N, upIdx))

  // ---- scan
  const out = join(dir, 'out.copy')
  const floorScan = await timed(() => db.query(`copy (select id, text, meta, embedding from "${t1}") to '${out}'`))
  rows.push(row('floor: server COPY TO file', N, floorScan.seconds))
  const scan = await peakRss(() => timed(async () => {
    let n = 0
    for await (const b of store.scan(a1, { batchSize: 500 })) n += b.length
    return n
  }))
  rows.push(row('adapter: scan (batches of 500, decoded)', scan.value.value, scan.value.seconds, `peak RSS ${scan.peakMb} MB`))
  await store.close()

  const floorBulk = rows.find((r) => r.measure.startsWith('floor: COPY + HNSW'))!
  const adBulk = rows.find((r) => r.measure.startsWith('adapter: bulk load total'))!
  const floorIdx = rows.find((r) => r.measure === 'floor: COPY into the indexed table')!
  const adIdx = rows.find((r) => r.measure === 'adapter: upsert into the indexed table')!
  report(`pgvector, dim ${DIM}, ${N} vectors`, rows, {
    bulkRatio: Math.round((adBulk.perSecond / floorBulk.perSecond) * 100) / 100,
    indexedRatio: Math.round((adIdx.perSecond / floorIdx.perSecond) * 100) / 100,
    scanPeakRssMb: scan.peakMb,
  })
} finally {
  await db.end()
  await admin.query(`drop database if exists ${dbName} with (force)`)
  await admin.end()
  await rm(dir, { recursive: true, force: true })
}
