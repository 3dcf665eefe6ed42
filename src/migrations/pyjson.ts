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
export type PyValue = null | boolean | string | PyNumber | PyValue[] | { [k: string]: PyValue }
export class PyNumber {
  constructor(readonly token: string) {}
}

export function pyLoads(text: string): PyValue {
  let i = 0
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++
  }
  const fail = (what: string): never => {
    throw new Error(`invalid JSON at ${i}: ${what}`)
  }
  const value = (): PyValue => {
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const o: { [k: string]: PyValue } = Object.create(null)
      ws()
      if (text[i] === '}') return (i++, o)
      for (;;) {
        ws()
        if (text[i] !== '"') fail('expected a key')
        const k = str()
        ws()
        if (text[i++] !== ':') fail("expected ':'")
        o[k] = value()
        ws()
        const d = text[i++]
        if (d === '}') return o
        if (d !== ',') fail("expected ',' or '}'")
      }
    }
    if (c === '[') {
      i++
      const a: PyValue[] = []
      ws()
      if (text[i] === ']') return (i++, a)
      for (;;) {
        a.push(value())
        ws()
        const d = text[i++]
        if (d === ']') return a
        if (d !== ',') fail("expected ',' or ']'")
      }
    }
    if (c === '"') return str()
    for (const [w, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
      ['NaN', new PyNumber('NaN')],
      ['Infinity', new PyNumber('Infinity')],
      ['-Infinity', new PyNumber('-Infinity')],
    ] as const) {
      if (text.startsWith(w, i)) return ((i += w.length), v)
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i, i + 400))
    if (!m) return fail('unexpected character')
    i += m[0].length
    return new PyNumber(m[0])
  }
  const str = (): string => {
    i++
    let out = ''
    for (;;) {
      const c = text[i++]
      if (c === undefined) fail('unterminated string')
      if (c === '"') return out
      if (c === '\\') {
        const e = text[i++]
        const map: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        }
        if (e === 'u') {
          const h = text.slice(i, i + 4)
          if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape')
          out += String.fromCharCode(parseInt(h, 16))
          i += 4
        } else if (e !== undefined && e in map) out += map[e]
        else fail('bad escape')
      } else {
        if (c! < ' ') fail('control character in string')
        out += c
      }
    }
  }
  const v = value()
  ws()
  if (i !== text.length) fail('extra data')
  return v
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

function pyString(s: string): string {
  let out = '"'
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k)
    const ch = s[k]!
    if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\b') out += '\\b'
    else if (ch === '\f') out += '\\f'
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0')
    else out += ch
  }
  return out + '"'
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
  if (v instanceof PyNumber) return /^-?\d+$/.test(v.token) ? v.token.replace(/^-0$/, '0') : pyFloat(v.token)
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
