/**
 * doc_id → seen flag for the live set of one target, compact: canonical lower-case UUIDs (what Dify uses for
 * index_node_id, upload file ids and annotation ids) are kept as 16 bytes in an open-addressing table
 * (≈ 34 bytes per id at the worst load, against ≈ 120 for a Map of strings); any other doc_id falls back to a Map.
 */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const EMPTY = 0
const UNSEEN = 1
const SEEN = 2

export class DocIdMap {
  #keys: Uint32Array
  #state: Uint8Array
  #mask: number
  #used = 0
  #other = new Map<string, boolean>()

  constructor(initialCapacity = 1024) {
    let cap = 16
    while (cap < initialCapacity * 2) cap *= 2
    this.#keys = new Uint32Array(cap * 4)
    this.#state = new Uint8Array(cap)
    this.#mask = cap - 1
  }

  get size(): number {
    return this.#used + this.#other.size
  }

  /** undefined: not a live doc_id; false: live, not seen in the store yet; true: seen */
  get(docId: string): boolean | undefined {
    const w = words(docId)
    if (!w) return this.#other.get(docId)
    const i = this.#find(w)
    const s = this.#state[i]!
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
    let i = this.#find(w)
    if (this.#state[i] === EMPTY) {
      if ((this.#used + 1) * 2 > this.#state.length) {
        this.#grow()
        i = this.#find(w)
      }
      this.#keys.set(w, i * 4)
      this.#used++
    }
    this.#state[i] = seen ? SEEN : UNSEEN
  }

  *entries(): IterableIterator<[string, boolean]> {
    for (let i = 0; i < this.#state.length; i++) {
      const s = this.#state[i]!
      if (s !== EMPTY) yield [format(this.#keys, i * 4), s === SEEN]
    }
    yield* this.#other.entries()
  }

  /** the doc_ids never marked seen (only these are formatted back into strings) */
  *unseen(): IterableIterator<string> {
    for (let i = 0; i < this.#state.length; i++) if (this.#state[i] === UNSEEN) yield format(this.#keys, i * 4)
    for (const [id, seen] of this.#other) if (!seen) yield id
  }

  [Symbol.iterator](): IterableIterator<[string, boolean]> {
    return this.entries()
  }

  #find(w: Uint32Array): number {
    const k = this.#keys
    let i = hash(w) & this.#mask
    for (;;) {
      if (this.#state[i] === EMPTY) return i
      const o = i * 4
      if (k[o] === w[0] && k[o + 1] === w[1] && k[o + 2] === w[2] && k[o + 3] === w[3]) return i
      i = (i + 1) & this.#mask
    }
  }

  #grow(): void {
    const oldKeys = this.#keys
    const oldState = this.#state
    const cap = oldState.length * 2
    this.#keys = new Uint32Array(cap * 4)
    this.#state = new Uint8Array(cap)
    this.#mask = cap - 1
    const w = new Uint32Array(4)
    for (let i = 0; i < oldState.length; i++) {
      if (oldState[i] === EMPTY) continue
      w.set(oldKeys.subarray(i * 4, i * 4 + 4))
      const j = this.#find(w)
      this.#keys.set(w, j * 4)
      this.#state[j] = oldState[i]!
    }
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
