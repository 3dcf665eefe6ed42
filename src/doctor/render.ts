/** Human rendering of `dify doctor`: one line per check, its hint under it, then the verdict. */
import type { DoctorReport } from './run.js'

const SYMBOL = { ok: '✓', warn: '!', fail: '✗', skip: '-' } as const

/** Summaries may carry values read from services: Output escapes their control characters. */
export function renderDoctor(report: DoctorReport): string[] {
  const lines: string[] = []
  for (const c of report.checks) {
    lines.push(`${SYMBOL[c.status]} ${c.name.padEnd(18)} ${c.summary}`)
    if (c.hint && c.status !== 'ok') lines.push(`  ${' '.repeat(18)} hint: ${c.hint}`)
  }
  const warned = report.checks.filter((c) => c.status === 'warn').length
  const failed = report.checks.filter((c) => c.status === 'fail').length
  lines.push(
    failed
      ? `\n${failed} check(s) failed${warned ? `, ${warned} warning(s)` : ''}.`
      : warned
        ? `\nNo check failed; ${warned} warning(s).`
        : '\nAll checks passed.',
  )
  return lines
}
