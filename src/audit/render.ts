/** Human rendering of `dify audit`. */
import { table } from '../core/table.js'
import type { AuditEntry } from './log.js'

export function renderAudit(entries: AuditEntry[]): string[] {
  if (entries.length === 0) return ['No audit entries.']
  return [
    table(
      entries.map((e) => ({ ...e, counts: e.counts ? JSON.stringify(e.counts) : '' })),
      [
        { key: 'time', header: 'TIME (UTC)' },
        { key: 'command', header: 'COMMAND' },
        { key: 'outcome', header: 'OUTCOME' },
        { key: 'user', header: 'USER' },
        { key: 'host', header: 'HOST' },
        { key: 'counts', header: 'COUNTS' },
      ],
    ),
  ]
}
