/**
 * Python `str` semantics where Dify's code relies on them and JavaScript differs. Dify runs Python 3.12; the set
 * below is every code point whose `str.isspace()` is true there (checked with `[c for c in map(chr, range(0x110000))
 * if c.isspace()]`). It differs from JavaScript's `trim()` set: Python strips U+001C–U+001F and U+0085, JavaScript
 * does not; JavaScript strips U+FEFF (BOM), Python does not.
 */
const PY_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'
const LEADING = new RegExp(`^[${PY_WHITESPACE}]+`)
const TRAILING = new RegExp(`[${PY_WHITESPACE}]+$`)

/** Python's `s.strip()` (no argument). */
export function pyStrip(s: string): string {
  return s.replace(LEADING, '').replace(TRAILING, '')
}
