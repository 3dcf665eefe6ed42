import { DifyCommand, Flags } from '../../src/cli/command.js'
import { UsageError } from '../../src/cli/errors.js'
import { readAudit, type AuditEntry } from '../../src/audit/log.js'
import { table } from '../../src/cli/output.js'

export default class Audit extends DifyCommand {
  static override summary = 'List the audit log of writing commands (from the Redis stream dify_ops:audit).'
  static override description = 'Every writing command appends one redacted JSON line to DIFY_OPS_AUDIT_LOG (when set) and to the capped Redis stream dify_ops:audit.'
  static override examples = ['<%= config.bin %> audit --since 2026-11-01', '<%= config.bin %> audit --since 24h --json']
  static override flags = {
    since: Flags.string({ summary: 'Only entries at or after this time: an ISO date/time or a duration such as 30m, 24h, 7d.' }),
    limit: Flags.integer({ summary: 'Show at most this many of the newest entries.', default: 100, min: 1 }),
  }

  async run(): Promise<{ entries: AuditEntry[] }> {
    const { flags } = await this.parse(Audit)
    const since = flags.since ? parseSince(flags.since) : undefined
    const entries = await readAudit(this.runtime(), { since, limit: flags.limit })
    if (entries.length === 0) this.out.log('No audit entries.')
    else
      this.out.log(table(entries.map((e) => ({ ...e, counts: e.counts ? JSON.stringify(e.counts) : '' })), [
        { key: 'time', header: 'TIME (UTC)' },
        { key: 'command', header: 'COMMAND' },
        { key: 'outcome', header: 'OUTCOME' },
        { key: 'user', header: 'USER' },
        { key: 'host', header: 'HOST' },
        { key: 'counts', header: 'COUNTS' },
      ]))
    return { entries }
  }
}

export function parseSince(s: string): Date {
  const m = /^(\d+)\s*([smhd])$/.exec(s.trim())
  if (m) return new Date(Date.now() - Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2] as 's']!)
  const d = new Date(s)
  if (Number.isNaN(d.getTime())) throw new UsageError(`--since "${s}" is neither a date nor a duration.`, { hint: 'Use an ISO date such as 2026-11-01T00:00Z or a duration such as 24h.' })
  return d
}
