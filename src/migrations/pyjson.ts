/**
 * JSON read and written the way Python's `json.loads` / `json.dumps(v, separators=(",", ":"), sort_keys=True)`
 * do (ensure_ascii on), for data migrations that must rewrite a JSON text byte for byte as Dify's would.
 *
 * - numbers keep Python's types: an integer token stays an exact integer (any size; "-0" becomes "0"), any other
 *   number becomes a float written as Python's repr (shortest round-trip digits, ".0" on whole values, exponent
 *   form below 1e-4 and from 1e16: "1e-05", "1e+16"); NaN / Infinity / -Infinity are read and written as Python does;
 * - objects: a repeated key keeps its last value; keys sorted by code point;
 * - strings: every character outside printable ASCII as \uXXXX (lower-case hex; astral characters as their
 *   surrogate pair), plus \" \\ \n \r \t \b \f.
 */

import { parseLossless, pyString, PyNumber, type PyJson } from '../core/pyjson.js'

export type PyValue = PyJson

/** json.loads (src/core/pyjson.ts: numbers kept as their literals, NaN / Infinity accepted). */
export function pyLoads(text: string): PyValue {
  return parseLossless(text)
}

function pyFloat(token: string): string {
  if (token === 'NaN' || token === 'Infinity' || token === '-Infinity') return token
  const x = Number(token)
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity'
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0'
  const [mant, expS] = Math.abs(x).toExponential().split('e')
  const digits = mant!.replace('.', '')
  const exp = Number(expS)
  const decpt = exp + 1
  const sign = x < 0 ? '-' : ''
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`
    if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`
}

const byCodePoint = (a: string, b: string) => {
  const x = [...a]
  const y = [...b]
  for (let k = 0; k < Math.min(x.length, y.length); k++) {
    const d = x[k]!.codePointAt(0)! - y[k]!.codePointAt(0)!
    if (d) return d
  }
  return x.length - y.length
}

export function pyDumps(v: PyValue): string {
  if (v === null) return 'null'
  if (v === true) return 'true'
  if (v === false) return 'false'
  if (typeof v === 'string') return pyString(v)
  // a JS number (none comes from pyLoads) as its shortest literal would be read back
  if (typeof v === 'number') return pyDumps(new PyNumber(String(v)))
  if (v instanceof PyNumber) return /^-?\d+$/.test(v.raw) ? v.raw.replace(/^-0$/, '0') : pyFloat(v.raw)
  if (Array.isArray(v)) return '[' + v.map(pyDumps).join(',') + ']'
  return (
    '{' +
    Object.keys(v)
      .sort(byCodePoint)
      .map((k) => pyString(k) + ':' + pyDumps(v[k]!))
      .join(',') +
    '}'
  )
}
