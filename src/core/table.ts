/** Plain-text tables for human output (every renderer, in src/cli and the capabilities' render.ts). */
/** Render rows as an aligned text table. */
export function table(rows: Array<Record<string, unknown>>, columns: Array<{ key: string; header: string }>): string {
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v))
  const widths = columns.map((c) => Math.max(c.header.length, ...rows.map((r) => cell(r[c.key]).length)))
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.header)), ...rows.map((r) => line(columns.map((c) => cell(r[c.key]))))].join('\n')
}
