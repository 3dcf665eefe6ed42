/**
 * pgvector adapter throughput at dimension 1536 next to the store's own floor, in the same run.
 *   npx vite-node bench/vector-pgvector.ts        (BENCH_N=2000 BENCH_DIM=1536 by default)
 * Needs the local PostgreSQL with native pgvector (scripts/services/pgvector.sh). Uses a scratch database.
 *
 * Floor and adapter runs alternate BENCH_ROUNDS (3) times; the best of each is reported (the machine is shared).
 * Floor (write): server-side COPY of a prepared file (text and binary format) into Dify's table layout, then building Dify's HNSW index
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
import { copyBinary, vectorLiteral } from '../src/vector/stores/pgvector.js'
import { DIM, peakRss, records, report, row, timed, type Row } from './vector-lib.js'
import { randomUUID } from 'node:crypto'

const N = Number(process.env.BENCH_N ?? 2000)
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
    for (const r of b)
      ws.write(`${r.docId}\t${esc(r.text)}\t${esc(JSON.stringify(r.metadata))}\t${vectorLiteral(r.vector)}\n`)
  }
  await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())))
  await chmod(file, 0o644)
  const sizeMb = Math.round((await stat(file)).size / 1048576)
  // the same rows in binary COPY format (what the adapter streams)
  const binFile = join(dir, 'rows.bin')
  const wb = createWriteStream(binFile)
  const parts = [...records(N, BATCH)].flatMap((b, i, all) => {
    const c = copyBinary(b)
    return [...(i === 0 ? c.slice(0, 1) : []), ...c.slice(1, -1), ...(i === all.length - 1 ? c.slice(-1) : [])]
  })
  for (const p of parts) wb.write(p)
  await new Promise<void>((res, rej) => wb.end((e?: Error | null) => (e ? rej(e) : res())))
  parts.length = 0
  await chmod(binFile, 0o644)

  const difyTable = async (collection: string, withIndex: boolean) => {
    const t = pgvectorPhysicalTable(collection)
    await db.query(
      `create table "${t}" (id uuid primary key, text text not null, meta jsonb not null, embedding vector(${DIM}) not null) using heap`,
    )
    if (withIndex)
      await db.query(
        `create index "${pgvectorHnswIndexName(collection)}" on "${t}" using hnsw (embedding vector_cosine_ops) with (m = 16, ef_construction = 64)`,
      )
    return t
  }

  // The machine is shared: floor and adapter runs alternate, ROUNDS times, and the best round of each is kept.
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
  const N_INDEXED = Number(process.env.BENCH_N_INDEXED ?? Math.min(N, 500))
  const raw = new Map(
    Object.entries({
      PGVECTOR_HOST: PG.host,
      PGVECTOR_PORT: String(PG.port),
      PGVECTOR_USER: PG.user,
      PGVECTOR_DATABASE: dbName,
    }).map(([k, v]) => [k, { value: v, source: 'environment' as const }]),
  )
  const store = await openVectorStore(parseConfig(raw), { type: 'pgvector' })
  const best = {
    copyBin: Infinity,
    copy: Infinity,
    index: Infinity,
    upsert: Infinity,
    finish: Infinity,
    copyIdx: Infinity,
    upsertIdx: Infinity,
  }
  let t1 = ''
  let a1 = { collection: '' }
  for (let round = 0; round < ROUNDS; round++) {
    // floor: COPY, then Dify's HNSW index
    const c1 = genCollectionNameById(randomUUID())
    const tf = await difyTable(c1, false)
    best.copy = Math.min(
      best.copy,
      (await timed(() => db.query(`copy "${tf}" (id, text, meta, embedding) from '${file}'`))).seconds,
    )
    const cb = genCollectionNameById(randomUUID())
    const tb = await difyTable(cb, false)
    best.copyBin = Math.min(
      best.copyBin,
      (await timed(() => db.query(`copy "${tb}" (id, text, meta, embedding) from '${binFile}' with (format binary)`)))
        .seconds,
    )
    await db.query(`drop table "${tb}"`)
    await db.query(`set maintenance_work_mem = '512MB'`)
    best.index = Math.min(
      best.index,
      (
        await timed(() =>
          db.query(
            `create index "${pgvectorHnswIndexName(c1)}" on "${tf}" using hnsw (embedding vector_cosine_ops) with (m = 16, ef_construction = 64)`,
          ),
        )
      ).seconds,
    )
    await db.query('reset maintenance_work_mem')
    // adapter: bulk load
    const ta = { collection: genCollectionNameById(randomUUID()) }
    await store.ensureCollection(ta, DIM, { deferIndex: true })
    let up = 0
    for (const b of records(N, BATCH)) up += (await timed(() => store.upsert(ta, b))).seconds
    best.upsert = Math.min(best.upsert, up)
    best.finish = Math.min(best.finish, (await timed(() => store.finishBulkLoad(ta))).seconds)
    // into the already-indexed table (first N_INDEXED rows of the same data)
    const c2 = genCollectionNameById(randomUUID())
    const t2 = await difyTable(c2, true)
    best.copyIdx = Math.min(
      best.copyIdx,
      (
        await timed(() =>
          db.query(`copy "${t2}" (id, text, meta, embedding) from program 'head -n ${N_INDEXED} ${file}'`),
        )
      ).seconds,
    )
    const a2 = { collection: genCollectionNameById(randomUUID()) }
    await store.ensureCollection(a2, DIM)
    let upIdx = 0
    for (const b of records(N_INDEXED, BATCH)) upIdx += (await timed(() => store.upsert(a2, b))).seconds
    best.upsertIdx = Math.min(best.upsertIdx, upIdx)
    await db.query(`drop table "${t2}"`)
    await store.deleteTarget(a2)
    if (round < ROUNDS - 1) {
      await db.query(`drop table "${tf}"`)
      await store.deleteTarget(ta)
    } else {
      t1 = tf
      a1 = ta
    }
  }
  const floorCopy = Math.min(best.copy, best.copyBin)
  rows.push(row('floor: COPY text into Dify table (no HNSW yet)', N, best.copy, `${sizeMb} MB COPY text`))
  rows.push(row('floor: COPY binary into Dify table (no HNSW yet)', N, best.copyBin))
  rows.push(row("floor: build Dify's HNSW index", N, best.index))
  rows.push(row('floor: COPY + HNSW (bulk load)', N, floorCopy + best.index, 'faster COPY of the two'))
  rows.push(row('adapter: upsert (no HNSW yet), excl. data generation', N, best.upsert))
  rows.push(row('adapter: finishBulkLoad (HNSW)', N, best.finish))
  rows.push(row('adapter: bulk load total (upsert + HNSW)', N, best.upsert + best.finish))
  rows.push(row('floor: COPY into the indexed table', N_INDEXED, best.copyIdx))
  rows.push(row('adapter: upsert into the indexed table', N_INDEXED, best.upsertIdx))

  // ---- scan (alternating, best of ROUNDS)
  const out = join(dir, 'out.copy')
  let floorScan = Infinity
  let adScan = Infinity
  let peak = 0
  for (let round = 0; round < ROUNDS; round++) {
    floorScan = Math.min(
      floorScan,
      (await timed(() => db.query(`copy (select id, text, meta, embedding from "${t1}") to '${out}'`))).seconds,
    )
    const scan = await peakRss(() =>
      timed(async () => {
        let n = 0
        // read every vector: the adapter decodes pgvector's bytes lazily, and this measure is "decoded"
        for await (const b of store.scan(a1, { batchSize: 500 })) for (const r of b) n += r.vector.length > 0 ? 1 : 0
        if (n !== N) throw new Error(`scanned ${n} of ${N}`)
      }),
    )
    adScan = Math.min(adScan, scan.value.seconds)
    peak = Math.max(peak, scan.peakMb)
  }
  rows.push(row('floor: server COPY TO file', N, floorScan))
  rows.push(row('adapter: scan (batches of 500, decoded)', N, adScan, `peak RSS ${peak} MB`))
  const scan = { peakMb: peak }
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
