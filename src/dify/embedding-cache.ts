import { createHash } from 'node:crypto'
import type { Db } from '../core/db.js'
import { DifyOpsError } from '../core/errors.js'

/**
 * Dify's embedding cache, table `embeddings` (reference: dify-vector-stores.md §1.4, §2 "Pickle format"; upstream
 * api/core/rag/embedding/cached_embedding.py, api/models/dataset.py Embedding, api/libs/helper.py
 * generate_text_hash): key (model_name, sha256(text + "None") hex, provider_name), value
 * pickle.dumps(list_of_floats, protocol=HIGHEST_PROTOCOL) of the L2-normalised vector.
 */

/** Dify's generate_text_hash: sha256 hex of text + "None" (UTF-8). */
export function difyTextHash(text: string): string {
  return createHash('sha256')
    .update(text + 'None', 'utf8')
    .digest('hex')
}

export class PickleFormatError extends DifyOpsError {}

const PROTO = 0x80
const FRAME = 0x95
const EMPTY_LIST = 0x5d // ]
const MEMOIZE = 0x94
const MARK = 0x28 // (
const BINFLOAT = 0x47 // G
const APPENDS = 0x65 // e
const APPEND = 0x61 // a
const STOP = 0x2e // .

/**
 * Decode exactly the pickle Python writes for a list of floats with protocol 4/5: PROTO, FRAME*, EMPTY_LIST,
 * MEMOIZE?, then batches `MARK BINFLOAT… APPENDS` or a single `BINFLOAT APPEND`, FRAMEs between opcodes, STOP.
 * Not a general unpickler: any other opcode (globals, reduce, numpy scalars, …) is rejected.
 */
export function decodeFloatListPickle(buf: Uint8Array): Float64Array {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  let p = 0
  const fail = (what: string): never => {
    throw new PickleFormatError(`Not a pickled list of floats (${what} at byte ${p}).`, {
      hint: 'Dify writes embeddings as pickle.dumps(list_of_floats); this row holds something else.',
    })
  }
  const need = (n: number) => {
    if (p + n > b.length) fail('truncated')
  }
  const skipFrames = () => {
    while (p < b.length && b[p] === FRAME) {
      need(9)
      const len = b.readBigUInt64LE(p + 1)
      p += 9
      if (len > BigInt(b.length - p)) fail('frame longer than the data')
    }
  }
  need(2)
  if (b[0] !== PROTO) fail('no PROTO opcode')
  if (b[1]! < 4 || b[1]! > 5) fail(`protocol ${b[1]}`)
  p = 2
  skipFrames()
  need(1)
  if (b[p] !== EMPTY_LIST) fail('not a list')
  p++
  if (b[p] === MEMOIZE) p++
  const values: number[] = []
  for (;;) {
    skipFrames()
    need(1)
    const op = b[p]!
    if (op === STOP) {
      p++
      if (p !== b.length) fail('data after STOP')
      return Float64Array.from(values)
    }
    if (op === MARK) {
      p++
      let n = 0
      for (;;) {
        skipFrames() // the framer commits a frame every ~64 KiB, also between the items of one batch
        need(1)
        if (b[p] === BINFLOAT) {
          need(9)
          values.push(b.readDoubleBE(p + 1))
          p += 9
          n++
        } else if (b[p] === APPENDS) {
          p++
          break
        } else fail(`opcode 0x${b[p]!.toString(16)} inside a batch`)
      }
      if (n === 0) fail('empty APPENDS batch')
      continue
    }
    if (op === BINFLOAT) {
      need(10)
      const v = b.readDoubleBE(p + 1)
      p += 9
      skipFrames()
      need(1)
      if (b[p] !== APPEND) fail('BINFLOAT not followed by APPEND')
      p++
      values.push(v)
      continue
    }
    fail(`unexpected opcode 0x${op.toString(16)}`)
  }
}

export interface CacheModel {
  /** datasets.embedding_model (annotations: the binding's model_name) */
  model: string
  /** datasets.embedding_model_provider (annotations: the binding's provider_name) */
  provider: string
}

/** A cache entry: the vector, or why it could not be read. */
export type CacheEntry = { vector: Float64Array } | { error: string }

/**
 * Look up the cached vectors for texts of one embedding model: one query per 500 hashes (Dify itself runs one per
 * text). Returns hash → entry for the hits only.
 */
export async function lookupEmbeddings(
  db: Db,
  model: CacheModel,
  texts: Iterable<string>,
): Promise<Map<string, CacheEntry>> {
  const hashes = [...new Set([...texts].map(difyTextHash))]
  const out = new Map<string, CacheEntry>()
  for (let i = 0; i < hashes.length; i += 500) {
    const chunk = hashes.slice(i, i + 500)
    const rows = await db.kysely
      .selectFrom('embeddings')
      .select(['hash', 'embedding'])
      .where('model_name', '=', model.model)
      .where('provider_name', '=', model.provider)
      .where('hash', 'in', chunk)
      .execute()
    for (const r of rows) {
      if (out.has(r.hash)) continue
      try {
        out.set(r.hash, { vector: decodeFloatListPickle(toBytes(r.embedding)) })
      } catch (e) {
        out.set(r.hash, { error: (e as Error).message })
      }
    }
  }
  return out
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v
  if (typeof v === 'string') return Buffer.from(v, 'binary')
  throw new PickleFormatError('embeddings.embedding is not binary data.')
}

export interface VectorComparison {
  equal: boolean
  maxAbsDiff: number
  cosine: number
}

/**
 * Stored vectors are float32 in most stores, the cache float64: equal means every component within 1e-6
 * (float32 rounding of a unit vector's components is below 6e-8 · |x|) and the same dimension.
 */
export function compareVectors(stored: ArrayLike<number>, cached: ArrayLike<number>, tol = 1e-6): VectorComparison {
  if (stored.length !== cached.length) return { equal: false, maxAbsDiff: Infinity, cosine: NaN }
  let max = 0
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < stored.length; i++) {
    const a = stored[i]!
    const c = cached[i]!
    const d = Math.abs(a - c)
    if (d > max) max = d
    dot += a * c
    na += a * a
    nb += c * c
  }
  return { equal: max <= tol, maxAbsDiff: max, cosine: dot / Math.sqrt(na * nb) }
}

export function l2norm(v: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!
  return Math.sqrt(s)
}
