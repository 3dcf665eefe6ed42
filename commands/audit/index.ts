import { DifyCommand, Flags } from '../../src/cli/command.js'
import { UsageError } from '../../src/core/errors.js'
import { readAudit, type AuditEntry } from '../../src/audit/log.js'
import { renderAudit } from '../../src/audit/render.js'
import { parseDuration } from '../../src/cli/output.js'
import { MAX_SECONDS } from '../../src/cli/flags.js'

export default class Audit extends DifyCommand {
  static override summary = 'List the audit log of writing commands (from the Redis stream dify_ops:audit).'
  static override description =
    'Every writing command appends one redacted JSON line to DIFY_OPS_AUDIT_LOG (when set) and to the capped Redis stream dify_ops:audit.'
  static override examples = [
    '<%= config.bin %> audit --since 2026-11-01',
    '<%= config.bin %> audit --since 24h --json',
  ]
  static override flags = {
    since: Flags.string({
      summary: 'Only entries at or after this time: an ISO date/time or a duration such as 30m, 24h, 7d.',
    }),
    limit: Flags.integer({ summary: 'Show at most this many of the newest entries.', default: 100, min: 1 }),
  }

  async run(): Promise<{ entries: AuditEntry[] }> {
    const { flags } = await this.parse(Audit)
    const since = flags.since ? parseSince(flags.since) : undefined
    const entries = await readAudit(this.runtime(), { since, limit: flags.limit })
    this.out.lines(renderAudit(entries))
    return { entries }
  }
}

export function parseSince(s: string): Date {
  // a duration (a bare number is seconds, as everywhere else), else a date: "7" must not become July 2001
  const secs = parseDuration(s)
  if (secs !== null) {
    // a duration reaching before the year 1 (or past what a Date holds) is a typo, not "everything"
    if (secs > MAX_SECONDS)
      throw new UsageError(`--since ${s} is more than ${MAX_SECONDS / 86_400 / 365} years ago.`, {
        hint: 'Use a shorter duration such as 30d, or an ISO date.',
      })
    return new Date(Date.now() - secs * 1000)
  }
  const d = new Date(s)
  if (Number.isNaN(d.getTime()))
    throw new UsageError(`--since "${s}" is neither a date nor a duration.`, {
      hint: 'Use an ISO date such as 2026-11-01T00:00Z or a duration such as 24h.',
    })
  return d
}
