/**
 * Finding and replacing the encrypt_token values inside a stored column value without touching anything else:
 * JSON documents are never re-serialised; only the string literals that hold tokens are swapped, so every other byte
 * (key order, spacing, escapes, numbers) stays as Dify wrote it.
 */
import type { EncryptedColumn } from '../dify/encrypted-columns.js'
import { looksLikeHybridToken } from '../crypto/tenant-key.js'

/** base64 of exactly 256 bytes: a legacy (pre-HYBRID) RSA-2048 OAEP token */
const LEGACY_TOKEN = /^[A-Za-z0-9+/]{342}==$/

export function isTokenLike(s: string): boolean {
  return looksLikeHybridToken(s) || LEGACY_TOKEN.test(s)
}

interface Literal {
  start: number
  end: number
  value: string
}

/** every JSON string literal in the text, with its span (keys included); throws on an unterminated string */
function stringLiterals(text: string): Literal[] {
  const out: Literal[] = []
  let i = 0
  while (i < text.length) {
    const q = text.indexOf('"', i)
    if (q < 0) break
    let j = q + 1
    let escaped = false
    for (; j < text.length; j++) {
      const ch = text.charCodeAt(j)
      if (escaped) escaped = false
      else if (ch === 92 /* \ */) escaped = true
      else if (ch === 34 /* " */) break
    }
    if (j >= text.length) throw new SyntaxError('unterminated JSON string')
    const raw = text.slice(q, j + 1)
    out.push({ start: q, end: j + 1, value: raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1) })
    i = j + 1
  }
  return out
}

/**
 * the whole stored value is one token: `token` columns, and `json-or-token` values in Dify's legacy form (Dify reads a
 * value that does not start with "{" as one token, api/core/provider_manager.py)
 */
function isWholeToken(col: Pick<EncryptedColumn, 'format'>, raw: string): boolean {
  return col.format === 'token' || (col.format === 'json-or-token' && !raw.startsWith('{'))
}

export interface ExtractedValue {
  /** the encrypt_token strings found (in order, duplicates kept) */
  tokens: string[]
  /** the stored value is not valid JSON (json columns only) */
  malformed?: boolean
}

/** the tokens held by one stored value of an encrypted column */
export function extractTokens(col: Pick<EncryptedColumn, 'format'>, raw: string | null | undefined): ExtractedValue {
  if (raw === null || raw === undefined || raw === '') return { tokens: [] }
  if (isWholeToken(col, raw)) return { tokens: [raw] }
  try {
    JSON.parse(raw)
  } catch {
    return { tokens: [], malformed: true }
  }
  return {
    tokens: stringLiterals(raw)
      .map((l) => l.value)
      .filter(isTokenLike),
  }
}

/**
 * The stored value with tokens replaced: `replace(token)` returns the new string for a token, or undefined to keep it.
 * For json columns only the token literals change; for token columns the whole value does.
 */
export function replaceTokens(
  col: Pick<EncryptedColumn, 'format'>,
  raw: string,
  replace: (token: string) => string | undefined,
): string {
  if (isWholeToken(col, raw)) return replace(raw) ?? raw
  let out = ''
  let last = 0
  for (const l of stringLiterals(raw)) {
    if (!isTokenLike(l.value)) continue
    const next = replace(l.value)
    if (next === undefined) continue
    out += raw.slice(last, l.start) + JSON.stringify(next)
    last = l.end
  }
  return out + raw.slice(last)
}
