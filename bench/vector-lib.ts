import { randomUUID } from 'node:crypto'
import type { VectorRecord } from '../src/vector/store.js'

/** Shared helpers of the vector benchmarks (not a test; run with `npx vite-node bench/<name>.ts`). */

export const DIM = Number(process.env.BENCH_DIM ?? 1536)

/** Deterministic unit vectors with Dify metadata, produced batch by batch (the generator holds no data set). */
export function* records(n: number, batch: number, dim = DIM, seed = 42): Generator<VectorRecord[]> {
  let s = seed
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1
  const datasetId = randomUUID()
  const docs = Array.from({ length: 20 }, () => randomUUID())
  for (let i = 0; i < n; i += batch) {
    const out: VectorRecord[] = []
    for (let j = i; j < Math.min(n, i + batch); j++) {
      const v = new Array<number>(dim)
      let norm = 0
      for (let k = 0; k < dim; k++) {
        v[k] = rnd()
        norm += v[k]! * v[k]!
      }
      norm = Math.sqrt(norm)
      for (let k = 0; k < dim; k++) v[k] = Math.fround(v[k]! / norm)
      const docId = randomUUID()
      out.push({
        id: docId,
        docId,
        text: `Benchmark segment ${j}: ${'lorem ipsum dolor sit amet '.repeat(8)}`,
        metadata: { doc_id: docId, doc_hash: `h${j}`, document_id: docs[j % docs.length]!, dataset_id: datasetId },
        vector: v,
      })
    }
    yield out
  }
}

export async function timed<T>(f: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = process.hrtime.bigint()
  const value = await f()
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }
}

/** Samples RSS every 20 ms while f runs; returns the peak in MB. */
export async function peakRss<T>(f: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = process.memoryUsage().rss
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
  try {
    const value = await f()
    peak = Math.max(peak, process.memoryUsage().rss)
    return { value, peakMb: Math.round(peak / 1048576) }
  } finally {
    clearInterval(t)
  }
}

export interface Row {
  measure: string
  vectors: number
  seconds: number
  perSecond: number
  note?: string
}
export const row = (measure: string, vectors: number, seconds: number, note?: string): Row => ({
  measure,
  vectors,
  seconds: Math.round(seconds * 1000) / 1000,
  perSecond: Math.round(vectors / seconds),
  note,
})

export function report(title: string, rows: Row[], extra: Record<string, unknown> = {}): void {
  console.log(`\n${title}`)
  console.table(
    rows.map((r) => ({
      measure: r.measure,
      vectors: r.vectors,
      seconds: r.seconds,
      'vectors/s': r.perSecond,
      note: r.note ?? '',
    })),
  )
  console.log(JSON.stringify({ bench: title, rows, ...extra }))
}
