import { readFileSync } from 'node:fs'

/**
 * Parse a dotenv file the way python-dotenv (which Dify uses) reads the common cases:
 * `KEY=value`, optional `export `, single or double quotes (double quotes expand \n),
 * `#` comments on their own line or after an unquoted value, blank lines.
 */
export function parseEnvText(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim()
    if (!line || line.startsWith('#')) continue
    if (line.startsWith('export ')) line = line.slice(7).trim()
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    const key = line.slice(0, eq).trim()
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) continue
    let value = line.slice(eq + 1).trim()
    const q = value[0]
    if (q === '"' || q === "'") {
      // a quoted value may span lines
      let body = value.slice(1)
      while (!hasClosingQuote(body, q) && i + 1 < lines.length) body += '\n' + lines[++i]
      const end = closingQuoteIndex(body, q)
      value = end >= 0 ? body.slice(0, end) : body
      if (q === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    } else {
      const hash = value.search(/\s#/)
      if (hash >= 0) value = value.slice(0, hash).trim()
    }
    out[key] = value
  }
  return out
}

function closingQuoteIndex(body: string, q: string): number {
  for (let j = 0; j < body.length; j++) {
    if (body[j] === '\\' && q === '"') {
      j++
      continue
    }
    if (body[j] === q) return j
  }
  return -1
}
function hasClosingQuote(body: string, q: string): boolean {
  return closingQuoteIndex(body, q) >= 0
}

export function readEnvFile(path: string): Record<string, string> {
  return parseEnvText(readFileSync(path, 'utf8'))
}
