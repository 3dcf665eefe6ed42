/** Human rendering of `documents stuck` and `documents requeue` (plain text; the caller escapes control characters). */
import type { StuckResult } from './stuck.js'
import type { RequeueResult } from './requeue.js'

const age = (s: number | null) =>
  s === null
    ? '?'
    : s < 120
      ? `${s}s`
      : s < 7200
        ? `${Math.round(s / 60)}m`
        : s < 172800
          ? `${Math.round(s / 3600)}h`
          : `${Math.round(s / 86400)}d`

export function renderStuck(r: StuckResult, opts: { limit?: number } = {}): string[] {
  const lines: string[] = []
  if (!r.documents.length) {
    lines.push(
      `No document is stuck${r.olderThanSeconds ? ` for longer than ${age(r.olderThanSeconds)}` : ''}: every document is completed or in error.`,
    )
    return lines
  }
  const limit = opts.limit ?? 50
  lines.push(
    `${r.documents.length} document(s) not completed (${r.version ? `Dify ${r.version}` : 'a Dify release this CLI does not know'}; ${r.scanned.messages} queued message(s), ${r.scanned.unacked} unacked, ${r.workers.asked ? `${r.workers.nodes.length} live worker(s)` : 'workers not asked'}):`,
  )
  for (const d of r.documents.slice(0, limit)) {
    const segs =
      Object.entries(d.segments.byStatus)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'no segments'
    lines.push(
      `  ${d.class.toUpperCase().padEnd(15)} ${d.id}  ${d.indexingStatus}, ${age(d.ageSeconds)} old, ${segs}  "${d.name}"`,
    )
    lines.push(`                  ${d.reason}`)
  }
  if (r.documents.length > limit) lines.push(`  … and ${r.documents.length - limit} more (use --json for all).`)
  for (const q of r.tenantQueues) {
    lines.push(
      `Tenant queue ${q.uniqueKey} of ${q.tenantId}: ${q.length} waiting, running flag ${q.flag ? `set (TTL ${q.flagTtlSeconds ?? 'none'} s)` : 'absent'}, ${q.inFlight ? 'its task is in flight' : 'no worker holds its task (stale)'}.`,
    )
  }
  lines.push('')
  for (const v of r.verdicts) lines.push(`${v.line}${v.next ? `\n    next: ${v.next}` : ''}`)
  return lines
}

export function renderRequeue(r: RequeueResult): string[] {
  const lines: string[] = []
  const pre = r.dryRun ? 'Would ' : ''
  for (const a of r.actions) {
    if (a.kind === 'mark-error')
      lines.push(
        `${pre || ''}${r.dryRun ? 'set' : 'Set'} ${a.documentIds.join(', ')} to error${a.problem ? ` (${a.problem})` : ''}.`,
      )
    else if (a.kind === 'dispatch')
      lines.push(
        `${r.dryRun ? 'Would dispatch' : 'Dispatched'} ${a.task} to ${a.queue} for dataset ${a.datasetId}: ${a.documentIds.length} document(s)${a.taskId ? ` (task ${a.taskId})` : ''}.`,
      )
    else if (!a.documentIds.length && a.flag !== 'set')
      lines.push(
        `${r.dryRun ? 'Would delete' : 'Deleted'} the stale running flag of the empty tenant queue ${a.tenantQueue} of ${a.tenantId} (no worker holds its task).`,
      )
    else
      lines.push(
        `${r.dryRun ? 'Would take' : a.flag === 'deleted' ? 'Cleared the stale flag of' : 'Took'} the next entry of the stale tenant queue ${a.tenantQueue} of ${a.tenantId}${a.flag === 'deleted' ? ' (it was empty)' : `, set its running flag and dispatch ${a.task}${a.taskId ? ` (task ${a.taskId})` : ''}`}; ${a.documentIds.length} blocked document(s) follow through Dify's own chain.`,
      )
  }
  for (const s of r.skipped) lines.push(`Left alone: ${s.id} (${s.class ?? 'not stuck'}: ${s.reason}).`)
  if (!r.actions.length) lines.push('Nothing to requeue: no orphaned or blocked document.')
  if (r.dryRun) lines.push('Dry run: nothing was changed.')
  return lines
}
