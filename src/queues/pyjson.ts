/**
 * JSON as Python's json module writes it (kombu.utils.json.dumps = json.dumps with default options):
 * - `parseTolerant` accepts what json.loads accepts and JSON.parse does not: the bare tokens NaN, Infinity and
 *   -Infinity (Python emits them for float('nan') / float('inf')).
 * - `parseLossless` + `dumpsPython` re-serialise a message the way kombu does when it restores one (separators
 *   ", " and ": ", ensure_ascii, insertion order kept) while keeping every number literal exactly as it was
 *   written (1.0 stays 1.0, big integers keep their digits).
 */

import { parseLossless, pyString, PyNumber, type PyJson } from '../core/pyjson.js'

export { parseLossless, PyNumber, type PyJson }

/** JSON.parse first (fast path), then a tolerant parse that maps NaN/Infinity to JS numbers. */
export function parseTolerant(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (e) {
    if (!/NaN|Infinity/.test(text)) throw e
    return toPlain(parseLossless(text))
  }
}

function toPlain(v: PyJson): unknown {
  if (v instanceof PyNumber) return v.valueOf()
  if (Array.isArray(v)) return v.map(toPlain)
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) o[k] = toPlain(x)
    return o
  }
  return v
}

/**
 * json.dumps(value) with Python's defaults: ", " / ": " separators, ensure_ascii=True, keys in insertion order.
 * `ensureAscii: false` is json.dumps(value, ensure_ascii=False): only `"`, `\\` and C0 controls are escaped.
 */
export function dumpsPython(v: PyJson | unknown, opts: { ensureAscii?: boolean } = {}): string {
  const ascii = opts.ensureAscii !== false
  return dumps(v, (s) => pyString(s, ascii))
}

function dumps(v: PyJson | unknown, str: (s: string) => string): string {
  if (v === null || v === undefined) return 'null'
  if (v === true) return 'true'
  if (v === false) return 'false'
  if (v instanceof PyNumber) return v.raw
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN'
    if (v === Infinity) return 'Infinity'
    if (v === -Infinity) return '-Infinity'
    return String(v)
  }
  if (typeof v === 'string') return str(v)
  if (Array.isArray(v)) return `[${v.map((x) => dumps(x, str)).join(', ')}]`
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${str(k)}: ${dumps(x, str)}`)
      .join(', ')}}`
  }
  return str(String(v))
}
