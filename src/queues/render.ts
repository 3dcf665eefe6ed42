/** Human rendering of the queue commands (plain text lines; --json returns the domain results as they are). */
import { table } from '../core/table.js'
import type { QueueSnapshot } from './list.js'
import type { PeekResult, StatsResult } from './peek.js'
import type { PurgeResult } from './purge.js'
import type { QueueRate } from './rates.js'
import type { TaskLocation } from './task.js'
import type { RestoreOutcome, RestoreReport, UnackedReport } from './unacked.js'
import type { WorkersResult } from './workers.js'

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

/** "P0 1, P3 0, P6 0, P9 2"; a priority missing from the record shows as `absent` when given */
const byPriority = (p: Record<string, number | undefined>, absent?: number) =>
  [0, 3, 6, 9].map((k) => `P${k} ${absent === undefined ? p[k] : (p[k] ?? absent)}`).join(', ')

/** `queue list` (and each refresh of --watch): the table, totals and footnotes. */
export function renderQueueList(s: QueueSnapshot, rates?: Map<string, QueueRate> | null): string[] {
  const perSec = (r: QueueRate | undefined, v: number | undefined) =>
    r === undefined || v === undefined ? '' : `${r.exact ? '' : '>='}${v.toFixed(1)}`
  const rows = s.queues.map((q) => {
    const r = rates?.get(q.name)
    return {
      queue: printable(q.name) + (q.expected ? '' : ' *'),
      depth: q.depth,
      p0: q.byPriority['0'],
      p3: q.byPriority['3'],
      p6: q.byPriority['6'],
      p9: q.byPriority['9'],
      unacked: q.unacked,
      in: perSec(r, r?.inPerSec),
      out: perSec(r, r?.outPerSec),
      consumers: q.consumers === null ? '?' : q.consumers.length ? q.consumers.join(',') : '-',
      flag: q.noConsumer ? 'NO CONSUMER' : '',
    }
  })
  const cols = [
    { key: 'queue', header: 'QUEUE' },
    { key: 'depth', header: 'DEPTH' },
    { key: 'p0', header: 'P0' },
    { key: 'p3', header: 'P3' },
    { key: 'p6', header: 'P6' },
    { key: 'p9', header: 'P9' },
    { key: 'unacked', header: 'UNACKED' },
    ...(rates !== undefined
      ? [
          { key: 'in', header: 'IN/S' },
          { key: 'out', header: 'OUT/S' },
        ]
      : []),
    { key: 'consumers', header: 'CONSUMERS' },
    { key: 'flag', header: '' },
  ]
  const lines = [
    table(rows, cols),
    '',
    `${s.totals.depth} waiting, ${s.totals.unacked} unacked (reserved/ETA).` +
      (s.workers.asked
        ? ` ${s.workers.nodes.length} live worker(s)${s.workers.nodes.length ? ': ' + s.workers.nodes.join(', ') : ''}.`
        : ' Workers not asked.'),
  ]
  if (s.queues.some((q) => !q.expected)) lines.push('* not in the Dify worker queue list')
  if (rates === null) lines.push('IN/S and OUT/S: messages pushed and taken per second, from the next refresh on.')
  if (rates)
    lines.push(
      `IN/S and OUT/S over the last ${[...rates.values()][0]?.seconds.toFixed(1) ?? '?'} s; >= marks a lower bound (a list was empty at the previous refresh, or drained since).`,
    )
  return lines
}

/** The warning of `queue list` when queues hold messages nobody consumes; none when all are consumed. */
export function queueListWarnings(s: QueueSnapshot): string[] {
  const flagged = s.queues.filter((q) => q.noConsumer)
  if (!flagged.length) return []
  return [
    `${flagged.length} queue(s) have messages and no consumer: ${flagged.map((q) => printable(q.name)).join(', ')}.`,
  ]
}

export function renderPeek(r: PeekResult): string[] {
  const lines = [`${printable(r.queue)}: ${r.depth} waiting (${byPriority(r.byPriority)})`]
  for (const m of r.messages) {
    lines.push('')
    const head =
      m.status === 'malformed' ? `MALFORMED (${m.problem})` : `${printable(m.task) || '(no task name)'}  ${m.id ?? ''}`
    lines.push(`#${m.position}  [P${m.list}]  ${head}`)
    if (m.status === 'opaque')
      lines.push(`    body: ${m.contentType ?? '(no content type)'}, ${m.bodySize ?? '?'} bytes, not decoded`)
    if (m.args !== null || m.kwargs !== null)
      lines.push(`    args: ${clip(m.args, 200)}  kwargs: ${clip(m.kwargs, 200)}`)
    const extra = [
      m.eta ? `eta ${m.eta}` : null,
      m.expires ? `expires ${m.expires}` : null,
      m.retries ? `retries ${m.retries}` : null,
      m.priority ? `priority ${m.priority}` : null,
      m.redelivered ? 'redelivered' : null,
      m.protocol === 1 ? 'protocol 1' : null,
      m.rootId && m.rootId !== m.id ? `root ${m.rootId}` : null,
      m.parentId ? `parent ${m.parentId}` : null,
      m.origin ? `origin ${printable(m.origin)}` : null,
      `${m.size} bytes`,
    ].filter(Boolean)
    lines.push(`    ${extra.join(', ')}`)
  }
  if (r.messages.length === 0) lines.push('(no messages)')
  return lines
}

export function renderStats(r: StatsResult): string[] {
  const lines = [
    `${printable(r.queue)}: ${r.scanned} messages, ${(r.bytes / 1024).toFixed(1)} KiB (${byPriority(r.byPriority, 0)}) in ${r.elapsedMs} ms`,
  ]
  if (r.tasks.length) {
    lines.push(
      '',
      table(
        r.tasks.map((t) => ({
          ...t,
          task: printable(t.task),
          oldestEta: t.oldestEta ?? '',
          newestEta: t.newestEta ?? '',
        })),
        [
          { key: 'task', header: 'TASK' },
          { key: 'count', header: 'COUNT' },
          { key: 'withEta', header: 'WITH ETA' },
          { key: 'oldestEta', header: 'OLDEST ETA' },
          { key: 'newestEta', header: 'NEWEST ETA' },
          { key: 'redelivered', header: 'REDELIVERED' },
        ],
      ),
    )
  }
  if (r.malformed) lines.push(`${r.malformed} malformed message(s).`)
  for (const [t, n] of Object.entries(r.opaque)) lines.push(`${n} message(s) with content type ${t} (not decoded).`)
  return lines
}

/** `queue purge`: what would go (dry run), that nothing is there, or what went. */
export function renderPurge(
  r: PurgeResult,
  q: { queue: string; task?: string | null; stage: 'dry-run' | 'nothing' | 'done' },
): string[] {
  const what = `${q.task ? `messages of task ${printable(q.task)}` : 'messages'} from queue ${printable(q.queue)}`
  if (q.stage === 'dry-run') return [`Dry run: would remove ${r.removed} ${what}. Nothing was changed.`]
  if (q.stage === 'nothing') return [`Nothing to remove: no ${what}.`]
  return [`Removed ${r.removed} ${what} (${byPriority(r.byPriority)}).`]
}

/** The question `queue purge` asks before removing. */
export function purgeQuestion(r: PurgeResult, q: { queue: string; task?: string | null }): string {
  return `Remove ${r.removed} ${q.task ? `messages of task ${printable(q.task)}` : 'messages'} from queue ${printable(q.queue)}?`
}

export function renderTask(r: TaskLocation): string[] {
  const m = r.message
  switch (r.where) {
    case 'result':
      return [
        `${r.id}: result record, status ${String(r.result?.status ?? '?')}${r.result?.date_done ? ` at ${String(r.result.date_done)}` : ''}`,
        ...(r.result?.traceback ? [String(r.result.traceback)] : []),
      ]
    case 'worker':
      return [`${r.id}: ${r.worker!.state} on worker ${printable(r.worker!.node)}`]
    case 'unacked':
      return [
        `${r.id}: reserved by a worker since ${r.reservedAt ?? '?'} (unacked), queue ${printable(r.queue)}, task ${printable(m?.task)}${m?.eta ? `, eta ${m.eta}` : ''}`,
      ]
    case 'queue':
      return [
        `${r.id}: waiting in queue ${printable(r.queue)} (priority list ${r.priority}), position ${r.position}, task ${printable(m?.task)}${m?.eta ? `, eta ${m.eta}` : ''}`,
      ]
    default:
      return [
        `${r.id}: unknown. No result record (Dify ignores results), not held by ${r.workersAsked ? 'any live worker' : 'a worker (none asked)'}, not unacked, not in a queue: it finished, was lost, or was never sent.`,
      ]
  }
}

export function renderUnacked(r: UnackedReport): string[] {
  if (!r.entries.length) return ['No unacked messages.']
  return [
    table(
      r.entries.map((e) => ({
        age: age(e.ageSeconds),
        queue: printable(e.queue),
        task: e.status === 'malformed' && !e.task ? `MALFORMED (${e.problem})` : printable(e.task),
        id: e.id ?? '',
        eta: e.eta ?? '',
        args: clip(e.args, 40),
        note: e.inconsistency ?? '',
      })),
      [
        { key: 'age', header: 'AGE' },
        { key: 'queue', header: 'QUEUE' },
        { key: 'task', header: 'TASK' },
        { key: 'id', header: 'ID' },
        { key: 'eta', header: 'ETA' },
        { key: 'args', header: 'ARGS' },
        { key: 'note', header: '' },
      ],
    ),
    '',
    `${r.entries.length} unacked message(s); ${r.overVisibilityTimeout} older than the visibility timeout (${r.visibilityTimeoutSeconds} s).`,
  ]
}

/** `queue workers`: a block per worker; the problems each reported are warnings (workersWarnings). */
export function renderWorkers(r: WorkersResult, timeoutS: number): string[] {
  const lines: string[] = []
  if (!r.workers.length)
    lines.push(
      r.receivers === 0
        ? 'No live worker is listening on this broker.'
        : `No worker answered within ${timeoutS} s (${r.receivers} listener(s) received the broadcast).`,
    )
  for (const w of r.workers) {
    lines.push(
      `${printable(w.node)}  pid ${w.pid ?? '?'}, pool ${w.pool ?? '?'} x${w.poolSize ?? '?'}, up ${w.uptimeSeconds ?? '?'} s, processed ${Object.values(w.processed).reduce((a, n) => a + n, 0)}`,
      `  queues: ${w.queues.map(printable).join(', ') || '(none)'}`,
      `  running ${w.active.length}, reserved ${w.reserved.length}, scheduled (ETA) ${w.scheduled.length}`,
    )
    for (const t of w.active)
      lines.push(
        `    running ${printable(t.name)} ${t.id ?? ''}${t.runtimeSeconds !== null ? ` for ${t.runtimeSeconds} s` : ''}`,
      )
    for (const t of w.scheduled) lines.push(`    scheduled ${printable(t.name)} ${t.id ?? ''} eta ${t.eta ?? '?'}`)
  }
  return lines
}

export function workersWarnings(r: WorkersResult): string[] {
  return r.workers.flatMap((w) => w.problems.map((p) => `${printable(w.node)}: ${p}`))
}

/** `queue restore-unacked`: the entries live workers hold (left alone), before anything else. */
export function renderHeld(r: { held: number; liveWorkers: string[] }): string[] {
  return r.held
    ? [`${r.held} message(s) are held by live workers (${r.liveWorkers.join(', ')}) and are left alone.`]
    : []
}

export function renderNothingToRestore(olderThanS: number, held: number): string[] {
  return [
    `Nothing to restore: no unacked message older than ${olderThanS} s${held ? ' that no live worker holds' : ''}.`,
  ]
}

/** `queue restore-unacked --dry-run`: one line per entry; `workersSkipped` when live workers could have been asked. */
export function renderRestorePlan(plan: RestoreOutcome[], workersSkipped: boolean): string[] {
  const lines = plan.map(
    (p) =>
      `would ${p.outcome === 'restored' ? 'restore' : p.outcome === 'cleaned' ? 'clean' : 'skip'} ${p.task ?? '?'} ${p.id ?? p.deliveryTag}${p.targets.length ? ` -> ${p.targets.map(printable).join(', ')}` : ''}${p.problem ? ` (${p.problem})` : ''}`,
  )
  if (workersSkipped)
    lines.push(
      'Workers were not asked (that broadcast writes to the broker): the list includes messages a live worker may still hold; the real run leaves those alone.',
    )
  lines.push('Dry run: nothing was changed.')
  return lines
}

export function renderRestored(r: RestoreReport): string[] {
  return [
    `Restored ${r.counts.restored}, cleaned ${r.counts.cleaned} dangling index entr(y/ies), ${r.counts.gone} already gone, ${r.counts.skipped} skipped.`,
  ]
}

/** Entries nobody can restore (no route, unreadable value), kombu included: reported, left in place. */
export function restoreWarnings(results: RestoreOutcome[]): string[] {
  return results
    .filter((x) => x.outcome === 'skipped')
    .map((r) => `Skipped ${printable(r.deliveryTag)}: ${printable(r.problem ?? '')}.`)
}
