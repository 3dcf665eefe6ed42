/**
 * JSON read and written as Python's json module does, shared by the capabilities that must round-trip a text byte
 * for byte with Dify or Celery (queues: kombu's messages; migrations: Dify's data steps):
 * - `parseLossless`: what json.loads accepts (NaN, Infinity and -Infinity too), every number kept as its literal
 *   (PyNumber: 1.0 stays 1.0, big integers keep their digits), a repeated key keeps its first place and its last value
 *   as in a Python dict, a `__proto__` key stays an ordinary key;
 * - `pyString`: a str as json.dumps writes it.
 */

/** A number kept as its source text (lossless round trip). */
export class PyNumber {
  constructor(readonly raw: string) {}
  valueOf(): number {
    return this.raw === 'NaN'
      ? NaN
      : this.raw === 'Infinity'
        ? Infinity
        : this.raw === '-Infinity'
          ? -Infinity
          : Number(this.raw)
  }
}

export type PyJson = null | boolean | string | PyNumber | number | PyJson[] | { [k: string]: PyJson }

/** Parse keeping number literals as PyNumber; throws SyntaxError on malformed input. */
export function parseLossless(text: string): PyJson {
  return new Parser(text).parseDocument()
}

class Parser {
  i = 0
  constructor(readonly s: string) {}

  parseDocument(): PyJson {
    this.ws()
    const v = this.value(0)
    this.ws()
    if (this.i !== this.s.length) this.fail('trailing data')
    return v
  }

  fail(what: string): never {
    throw new SyntaxError(`Invalid JSON at position ${this.i}: ${what}`)
  }

  ws(): void {
    const s = this.s
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++
      else break
    }
  }

  value(depth: number): PyJson {
    if (depth > 512) this.fail('nesting too deep')
    const s = this.s
    const c = s[this.i]
    if (c === '{') {
      this.i++
      const o: Record<string, PyJson> = {}
      this.ws()
      if (s[this.i] === '}') {
        this.i++
        return o
      }
      for (;;) {
        this.ws()
        if (s[this.i] !== '"') this.fail('expected a string key')
        const k = this.string()
        this.ws()
        if (s[this.i] !== ':') this.fail('expected ":"')
        this.i++
        this.ws()
        // defineProperty: a "__proto__" key stays an ordinary key
        Object.defineProperty(o, k, {
          value: this.value(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        })
        this.ws()
        if (s[this.i] === ',') {
          this.i++
          continue
        }
        if (s[this.i] === '}') {
          this.i++
          return o
        }
        this.fail('expected "," or "}"')
      }
    }
    if (c === '[') {
      this.i++
      const a: PyJson[] = []
      this.ws()
      if (s[this.i] === ']') {
        this.i++
        return a
      }
      for (;;) {
        this.ws()
        a.push(this.value(depth + 1))
        this.ws()
        if (s[this.i] === ',') {
          this.i++
          continue
        }
        if (s[this.i] === ']') {
          this.i++
          return a
        }
        this.fail('expected "," or "]"')
      }
    }
    if (c === '"') return this.string()
    for (const [tok, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (s.startsWith(tok, this.i)) {
        this.i += tok.length
        return v
      }
    }
    for (const tok of ['NaN', 'Infinity', '-Infinity']) {
      if (s.startsWith(tok, this.i)) {
        this.i += tok.length
        return new PyNumber(tok)
      }
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(s.slice(this.i, this.i + 400))
    if (!m || m[0] === '' || m[0] === '-') this.fail('unexpected character')
    this.i += m[0].length
    return new PyNumber(m[0])
  }

  string(): string {
    const s = this.s
    const start = ++this.i
    // fast path: no escapes
    const end = s.indexOf('"', start)
    if (end < 0) this.fail('unterminated string')
    const slice = s.slice(start, end)
    if (!slice.includes('\\') && !/[\u0000-\u001f]/.test(slice)) {
      this.i = end + 1
      return slice
    }
    let out = ''
    for (;;) {
      if (this.i >= s.length) this.fail('unterminated string')
      const ch = s[this.i]!
      if (ch === '"') {
        this.i++
        return out
      }
      if (ch === '\\') {
        const e = s[this.i + 1]
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
        if (e !== undefined && e in map) {
          out += map[e]
          this.i += 2
        } else if (e === 'u') {
          const hex = s.slice(this.i + 2, this.i + 6)
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape')
          out += String.fromCharCode(parseInt(hex, 16))
          this.i += 6
        } else this.fail('bad escape')
        continue
      }
      if (ch.charCodeAt(0) < 0x20) this.fail('control character in string')
      out += ch
      this.i++
    }
  }
}

/**
 * a str as json.dumps writes it (Lib/json/encoder.py): `"`, `\\`, U+0000–U+001F escaped, and with ensure_ascii
 * (the default) everything past U+007E as well
 */
export function pyString(s: string, ensureAscii = true): string {
  const limit = ensureAscii ? 0x7e : Number.POSITIVE_INFINITY
  let out = '"'
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x22) out += '\\"'
    else if (c === 0x5c) out += '\\\\'
    else if (c === 0x0a) out += '\\n'
    else if (c === 0x0d) out += '\\r'
    else if (c === 0x09) out += '\\t'
    else if (c === 0x08) out += '\\b'
    else if (c === 0x0c) out += '\\f'
    else if (c < 0x20 || c > limit) out += `\\u${c.toString(16).padStart(4, '0')}`
    else out += s[i]
  }
  return out + '"'
}
