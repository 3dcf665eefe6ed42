/** Human rendering helpers of the queue commands (plain text; --json returns the domain results as they are). */

/** Queue names may hold control characters (kombu's "\x06\x16" separator): show them escaped. */
export function printable(s: string | null | undefined): string {
  if (s === null || s === undefined) return ''
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

export function clip(s: string | null | undefined, n: number): string {
  const p = printable(s)
  return p.length > n ? `${p.slice(0, n - 1)}…` : p
}

export function age(seconds: number | null): string {
  if (seconds === null) return '?'
  if (seconds < 60) return `${Math.round(seconds)}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`
}
