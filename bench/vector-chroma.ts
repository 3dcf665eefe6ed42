/**
 * Chroma adapter throughput at dimension 1536 next to the store's own floor, in the same run.
 *   npx vite-node bench/vector-chroma.ts          (BENCH_N=3000 BENCH_DIM=1536 by default)
 * Needs the local Chroma server (scripts/services/chroma.sh, 127.0.0.1:8011).
 *
 * Floor (write): the official client's collection.add() with prepared arrays in the server's maximum batch size,
 *   into a collection created exactly as Dify creates it (no metadata: l2).
 * Adapter (write): ensureCollection + upsert() in batches of 500 (Dify's id/document/metadata layout).
 * Floor (scan): collection.get({limit: max batch, offset, include embeddings/documents/metadatas}) over everything.
 * Adapter (scan): scan() in batches of 500; peak RSS sampled.
 */
import { randomUUID } from 'node:crypto'
import { ChromaClient } from 'chromadb'
import { parseConfig } from '../src/config/schema.js'
import { genCollectionNameById } from '../src/dify/collections.js'
import { openVectorStore } from '../src/vector/index.js'
import type { VectorRecord } from '../src/vector/store.js'
import { DIM, peakRss, records, report, row, timed, type Row } from './vector-lib.js'

const N = Number(process.env.BENCH_N ?? 3000)
const HOST = '127.0.0.1'
const PORT = Number(process.env.CHROMA_TEST_PORT ?? 8011)
const rows: Row[] = []

const client = new ChromaClient({ host: HOST, port: PORT, ssl: false })
const maxBatch = await client.getMaxBatchSize()
const floorName = genCollectionNameById(randomUUID()).toLowerCase()
const raw = new Map(Object.entries({ CHROMA_HOST: HOST, CHROMA_PORT: String(PORT) }).map(([k, v]) => [k, { value: v, source: 'environment' as const }]))
const store = await openVectorStore(parseConfig(raw), { type: 'chroma' })
const target = { collection: genCollectionNameById(randomUUID()).toLowerCase() }

try {
  // ---- floor: prepared arrays, client.add in max batches
  const batches: VectorRecord[][] = [...records(N, maxBatch)]
  const col = await client.createCollection({ name: floorName, embeddingFunction: null as never })
  const fw = await timed(async () => {
    for (const b of batches) {
      await col.add({
        ids: b.map((r) => r.docId),
        embeddings: b.map((r) => r.vector),
        documents: b.map((r) => r.text),
        metadatas: b.map((r) => r.metadata as Record<string, string>),
      })
    }
  })
  rows.push(row(`floor: client add, batches of ${maxBatch}`, N, fw.seconds))
  batches.length = 0

  // ---- adapter write (idempotent upsert, as Dify writes); same batch size as the floor, and batches of 500
  let aw = 0
  await store.ensureCollection(target, DIM)
  for (const b of records(N, maxBatch)) aw += (await timed(() => store.upsert(target, b))).seconds
  rows.push(row(`adapter: upsert, batches of ${maxBatch}`, N, aw))
  const t500 = { collection: genCollectionNameById(randomUUID()).toLowerCase() }
  let aw500 = 0
  await store.ensureCollection(t500, DIM)
  for (const b of records(N, 500)) aw500 += (await timed(() => store.upsert(t500, b))).seconds
  rows.push(row('adapter: upsert, batches of 500', N, aw500))
  await store.deleteTarget(t500)

  // ---- scans
  const fs = await timed(async () => {
    let n = 0
    for (let offset = 0; ; offset += maxBatch) {
      const g = await col.get({ limit: maxBatch, offset, include: ['embeddings', 'documents', 'metadatas'] as never })
      n += g.ids.length
      if (g.ids.length < maxBatch) break
    }
    return n
  })
  rows.push(row(`floor: client get, pages of ${maxBatch}`, fs.value, fs.seconds))
  const as = await peakRss(() => timed(async () => {
    let n = 0
    for await (const b of store.scan(target, { batchSize: 500 })) n += b.length
    return n
  }))
  rows.push(row('adapter: scan, batches of 500', as.value.value, as.value.seconds, `peak RSS ${as.peakMb} MB`))

  const ratio = (a: string, b: string) => Math.round((rows.find((r) => r.measure.startsWith(a))!.perSecond / rows.find((r) => r.measure.startsWith(b))!.perSecond) * 100) / 100
  report(`chroma, dim ${DIM}, ${N} vectors`, rows, { writeRatio: ratio(`adapter: upsert, batches of ${maxBatch}`, 'floor: client add'), scanRatio: ratio('adapter: scan', 'floor: client get'), scanPeakRssMb: as.peakMb })
} finally {
  await client.deleteCollection({ name: floorName }).catch(() => {})
  await store.deleteTarget(target).catch(() => {})
  await store.close()
}
