/**
 * doc_id → seen flag for the live set of one target, compact: canonical lower-case UUIDs (what Dify uses for
 * index_node_id, upload file ids and annotation ids) are kept as 16 bytes (+ 1 state byte) in open-addressing tables
 * (linear probing) filled to at most 80 % and grown 1.5-fold: 21–32 bytes per id (200 000 ids: 5 MB), against
 * ≈ 120 for a Map of strings; any other doc_id falls back to a Map. The ids are spread over 64 tables by hash, each
 * growing on its own, so a growth step holds a second copy of 1/64 of the set, not of all of it.
 */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const EMPTY = 0
const UNSEEN = 1
const SEEN = 2
/** log2 of the number of tables; the table is chosen by the hash's top bits, the slot by its low bits */
const SEG_BITS = 6
const SLOT_MASK = (1 << (32 - SEG_BITS)) - 1
/** a table grows 1.5-fold when it would be fuller than this: 17 bytes per slot, 21–32 bytes per id */
const MAX_LOAD = 0.8

class Table {
  keys: Uint32Array
  state: Uint8Array
  used = 0

  constructor(cap: number) {
    this.keys = new Uint32Array(cap * 4)
    this.state = new Uint8Array(cap)
  }

  find(w: Uint32Array, h: number): number {
    const k = this.keys
    const cap = this.state.length
    // the slot from the hash's low 26 bits scaled to the capacity (capacities are not powers of two)
    let i = Math.floor(((h & SLOT_MASK) * cap) / (SLOT_MASK + 1))
    for (;;) {
      if (this.state[i] === EMPTY) return i
      const o = i * 4
      if (k[o] === w[0] && k[o + 1] === w[1] && k[o + 2] === w[2] && k[o + 3] === w[3]) return i
      if (++i === cap) i = 0
    }
  }

  /** a table 1.5 times the size with the same entries */
  grown(): Table {
    const t = new Table(Math.ceil(this.state.length * 1.5))
    const w = new Uint32Array(4)
    for (let i = 0; i < this.state.length; i++) {
      if (this.state[i] === EMPTY) continue
      w.set(this.keys.subarray(i * 4, i * 4 + 4))
      const j = t.find(w, hash(w))
      t.keys.set(w, j * 4)
      t.state[j] = this.state[i]!
    }
    t.used = this.used
    return t
  }
}

export class DocIdMap {
  #tables: Table[]
  #other = new Map<string, boolean>()

  constructor(initialCapacity = 1024) {
    const cap = Math.max(16, Math.ceil(initialCapacity / MAX_LOAD / (1 << SEG_BITS)))
    this.#tables = Array.from({ length: 1 << SEG_BITS }, () => new Table(cap))
  }

  get size(): number {
    let n = this.#other.size
    for (const t of this.#tables) n += t.used
    return n
  }

  /** undefined: not a live doc_id; false: live, not seen in the store yet; true: seen */
  get(docId: string): boolean | undefined {
    const w = words(docId)
    if (!w) return this.#other.get(docId)
    const h = hash(w)
    const t = this.#tables[h >>> (32 - SEG_BITS)]!
    const s = t.state[t.find(w, h)]!
    return s === EMPTY ? undefined : s === SEEN
  }

  has(docId: string): boolean {
    return this.get(docId) !== undefined
  }

  set(docId: string, seen: boolean): void {
    const w = words(docId)
    if (!w) {
      this.#other.set(docId, seen)
      return
    }
    const h = hash(w)
    const seg = h >>> (32 - SEG_BITS)
    let t = this.#tables[seg]!
    let i = t.find(w, h)
    if (t.state[i] === EMPTY) {
      if (t.used + 1 > t.state.length * MAX_LOAD) {
        t = this.#tables[seg] = t.grown()
        i = t.find(w, h)
      }
      t.keys.set(w, i * 4)
      t.used++
    }
    t.state[i] = seen ? SEEN : UNSEEN
  }

  *entries(): IterableIterator<[string, boolean]> {
    for (const t of this.#tables) {
      for (let i = 0; i < t.state.length; i++) {
        const s = t.state[i]!
        if (s !== EMPTY) yield [format(t.keys, i * 4), s === SEEN]
      }
    }
    yield* this.#other.entries()
  }

  /** the doc_ids never marked seen (only these are formatted back into strings) */
  *unseen(): IterableIterator<string> {
    for (const t of this.#tables) {
      for (let i = 0; i < t.state.length; i++) if (t.state[i] === UNSEEN) yield format(t.keys, i * 4)
    }
    for (const [id, seen] of this.#other) if (!seen) yield id
  }

  [Symbol.iterator](): IterableIterator<[string, boolean]> {
    return this.entries()
  }

  /** bytes held by the UUID tables (for tests and the docs' arithmetic) */
  get tableBytes(): number {
    let b = 0
    for (const t of this.#tables) b += t.keys.byteLength + t.state.byteLength
    return b
  }
}

const scratch = new Uint32Array(4)

function words(id: string): Uint32Array | null {
  if (id.length !== 36 || !UUID_RE.test(id)) return null
  scratch[0] = parseInt(id.slice(0, 8), 16)
  scratch[1] = parseInt(id.slice(9, 13) + id.slice(14, 18), 16)
  scratch[2] = parseInt(id.slice(19, 23) + id.slice(24, 28), 16)
  scratch[3] = parseInt(id.slice(28, 36), 16)
  return scratch
}

function hash(w: Uint32Array): number {
  let h = Math.imul(w[0]! ^ 0x9e3779b9, 0x85ebca6b)
  h = Math.imul(h ^ w[1]! ^ (h >>> 13), 0xc2b2ae35)
  h = Math.imul(h ^ w[2]! ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ w[3]! ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0')
}

function format(k: Uint32Array, o: number): string {
  const a = hex8(k[o]!)
  const b = hex8(k[o + 1]!)
  const c = hex8(k[o + 2]!)
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${hex8(k[o + 3]!)}`
}

/** What the set-like users of doc_ids read: membership, size and the ids. */
export interface DocIds extends Iterable<string> {
  readonly size: number
  has(docId: string): boolean
}

/**
 * A set of doc_ids in DocIdMap's compact storage (21–32 bytes per UUID against ≈ 85–120 for a Set of strings), for
 * the per-unit doc_id sets of vdb-migrate. Iteration is in hash order, not insertion order.
 */
export class DocIdSet implements DocIds {
  #m: DocIdMap

  constructor(ids: Iterable<string> = []) {
    this.#m = new DocIdMap()
    for (const id of ids) this.add(id)
  }

  get size(): number {
    return this.#m.size
  }

  has(docId: string): boolean {
    return this.#m.has(docId)
  }

  add(docId: string): this {
    this.#m.set(docId, false)
    return this
  }

  *[Symbol.iterator](): IterableIterator<string> {
    for (const [id] of this.#m.entries()) yield id
  }
}
