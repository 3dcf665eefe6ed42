/** Human text of `dify retention report|clean|restore`; with --json the result objects themselves. */
import { formatBytes } from '../storage/usage.js'
import type { RetentionReport } from './report.js'
import type { CleanResult } from './clean.js'
import type { RestoreResult } from './restore.js'

const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - s.length))

export function renderReport(r: RetentionReport): string[] {
  const out = [
    `Cut-off ${r.cutoff} (older than ${Math.round(r.olderThanSeconds / 86_400)}d), ${r.dialect}, ${r.release ? `Dify ${r.release}` : 'a Dify release this CLI does not know'}.`,
  ]
  out.push(`${pad('table', 36)} ${pad('rows', 12)} ${pad('older', 12)} ${pad('est. bytes', 12)} index`)
  for (const t of r.tables)
    out.push(
      `${pad('  '.repeat(t.depth) + t.table, 36)} ${pad(String(t.rows), 12)} ${pad(String(t.rowsOlder), 12)} ${pad(formatBytes(t.estimatedBytes), 12)} ${t.index ?? 'MISSING'}`,
    )
  if (r.absentTables.length) out.push(`Not in this schema: ${r.absentTables.join(', ')}.`)
  return out
}

export function renderClean(r: CleanResult): string[] {
  const out: string[] = []
  if (r.resumed.length) out.push(`Resumed ${r.resumed.join(', ')} from the checkpoint (cut-off ${r.cutoff}).`)
  const verb = r.dryRun ? 'would delete' : 'deleted'
  for (const t of r.tables)
    if (t.rowsDeleted || r.dryRun)
      out.push(`${pad(t.table, 36)} ${verb} ${t.rowsDeleted} rows (~${formatBytes(t.bytesFreed)})`)
  const rows = r.tables.reduce((a, t) => a + t.rowsDeleted, 0)
  const bytes = r.tables.reduce((a, t) => a + t.bytesFreed, 0)
  if (r.dryRun)
    out.push(`Dry run: would delete ${rows} rows (~${formatBytes(bytes)}) older than ${r.cutoff}. Nothing was changed.`)
  else {
    out.push(
      `Deleted ${rows} rows (~${formatBytes(bytes)}) in ${r.batches} batches; longest batch ${r.maxBatchMs} ms, ${r.retries} retries, ${r.backoffs} back-offs.`,
    )
    if (r.archiveDir) out.push(`Archive: ${r.archiveDir} (undo with: dify retention restore ${r.archiveDir})`)
    if (r.archiveStorage)
      out.push(
        `Archive: storage:${r.archiveStorage} (undo with: dify retention restore --from-storage ${r.archiveStorage})`,
      )
    if (r.stoppedBy === 'max-runtime')
      out.push('Stopped at --max-runtime; run it again to continue from the checkpoint.')
  }
  const fq = r.files.quarantine
  if (fq) {
    if (fq.moved.length)
      out.push(
        `${fq.moved.length} upload files named only by deleted rows: rows deleted, objects (${formatBytes(fq.moved.reduce((a, m) => a + m.size, 0))}) moved to quarantine run ${fq.runId ?? '?'} (undo the objects with: dify storage restore RUN; delete them for good with: dify storage purge RUN).`,
      )
    if (fq.kept)
      out.push(`${fq.kept} files named by deleted rows are still referenced elsewhere (or not upload files): kept.`)
    if (fq.reason) out.push(`Files: ${fq.reason}.`)
    if (fq.lost.length) out.push(`${fq.lost.length} objects were in neither place (first: ${fq.lost[0]}).`)
    if (fq.failed.length)
      out.push(
        `${fq.failed.length} objects could not be moved (first: ${fq.failed[0]!.path}: ${fq.failed[0]!.error}); a rerun retries them.`,
      )
  } else if (r.files.count)
    out.push(
      r.files.mode === 'quarantine'
        ? `${r.files.count} storage files (upload_files ids, in --json) are named by the rows that would go; the clean decides which nothing else names and quarantines those.`
        : `${r.files.count} storage files (upload_files ids, in --json) were named by deleted rows; they were not deleted (--files quarantine moves those nothing else names).`,
    )
  if (r.space.vacuumed.length) out.push(`VACUUM (ANALYZE) ran on ${r.space.vacuumed.join(', ')}.`)
  if (r.space.advice) out.push(r.space.advice)
  return out
}

export function renderRestore(r: RestoreResult): string[] {
  const out = r.tables.map(
    (t) =>
      `${pad(t.table, 36)} ${r.dryRun ? 'would restore' : 'restored'} ${t.restored} of ${t.archived} (${t.skippedExisting} already present)`,
  )
  out.push(`${r.dryRun ? 'Dry run: nothing was written. ' : ''}${r.batches} batches from ${r.archiveDir}.`)
  return out
}
