/**
 * Chroma adapter throughput at dimension 1536 next to the store's own floor, in the same run.
 *   npx vite-node bench/vector-chroma.ts          (BENCH_N=1000 BENCH_DIM=1536 by default)
 * Needs the local Chroma server (scripts/services/chroma.sh, 127.0.0.1:8011).
 *
 * Floor and adapter runs alternate BENCH_ROUNDS (2) times; the best of each is reported (the machine is shared).
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

const N = Number(process.env.BENCH_N ?? 1000)
const HOST = '127.0.0.1'
const PORT = Number(process.env.CHROMA_TEST_PORT ?? 8011)
const rows: Row[] = []

const client = new ChromaClient({ host: HOST, port: PORT, ssl: false })
const maxBatch = await client.getMaxBatchSize()
const raw = new Map(
  Object.entries({ CHROMA_HOST: HOST, CHROMA_PORT: String(PORT) }).map(([k, v]) => [
    k,
    { value: v, source: 'environment' as const },
  ]),
)
const store = await openVectorStore(parseConfig(raw), { type: 'chroma' })

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)
const best = { add: Infinity, upsert: Infinity, get: Infinity, scan: Infinity }
let peak = 0
const created: string[] = []
try {
  // The machine is shared: floor and adapter runs alternate ROUNDS times; the best round of each is kept.
  for (let round = 0; round < ROUNDS; round++) {
    // floor: prepared arrays, client.add in the server's maximum batch size
    const batches: VectorRecord[][] = [...records(N, maxBatch)]
    const name = genCollectionNameById(randomUUID()).toLowerCase()
    created.push(name)
    const col = await client.createCollection({ name, embeddingFunction: null as never })
    best.add = Math.min(
      best.add,
      (
        await timed(async () => {
          for (const b of batches) {
            await col.add({
              ids: b.map((r) => r.docId),
              embeddings: b.map((r) => r.vector),
              documents: b.map((r) => r.text),
              metadatas: b.map((r) => r.metadata as Record<string, string>),
            })
          }
        })
      ).seconds,
    )
    batches.length = 0

    // adapter: idempotent upsert (as Dify writes), batches of 500, data generation not counted
    const t = { collection: genCollectionNameById(randomUUID()).toLowerCase() }
    await store.ensureCollection(t, DIM)
    let up = 0
    for (const b of records(N, 500)) up += (await timed(() => store.upsert(t, b))).seconds
    best.upsert = Math.min(best.upsert, up)

    // scans
    best.get = Math.min(
      best.get,
      (
        await timed(async () => {
          for (let offset = 0; ; offset += maxBatch) {
            const g = await col.get({
              limit: maxBatch,
              offset,
              include: ['embeddings', 'documents', 'metadatas'] as never,
            })
            if (g.ids.length < maxBatch) break
          }
        })
      ).seconds,
    )
    const sc = await peakRss(() =>
      timed(async () => {
        let n = 0
        for await (const b of store.scan(t, { batchSize: 500 })) n += b.length
        if (n !== N) throw new Error(`scanned ${n} of ${N}`)
      }),
    )
    best.scan = Math.min(best.scan, sc.value.seconds)
    peak = Math.max(peak, sc.peakMb)
    await client.deleteCollection({ name }).catch(() => {})
    await store.deleteTarget(t)
  }
  rows.push(row(`floor: client add, batches of ${maxBatch}`, N, best.add))
  rows.push(row('adapter: upsert, batches of 500', N, best.upsert))
  rows.push(row(`floor: client get, pages of ${maxBatch}`, N, best.get))
  rows.push(row('adapter: scan, batches of 500', N, best.scan, `peak RSS ${peak} MB`))
  const ratio = (a: string, b: string) =>
    Math.round(
      (rows.find((r) => r.measure.startsWith(a))!.perSecond / rows.find((r) => r.measure.startsWith(b))!.perSecond) *
        100,
    ) / 100
  report(`chroma, dim ${DIM}, ${N} vectors`, rows, {
    writeRatio: ratio('adapter: upsert', 'floor: client add'),
    scanRatio: ratio('adapter: scan', 'floor: client get'),
    scanPeakRssMb: peak,
  })
} finally {
  for (const name of created) await client.deleteCollection({ name }).catch(() => {})
  await store.close()
}
