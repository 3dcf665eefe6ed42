/** Human rendering of `dify vdb-migrate` (progress lines while it runs: progress.ts). */
import { table } from '../core/table.js'
import type { StartInfo, VdbMigrateJson } from './run.js'

/** What is about to happen, before anything is written (the warnings of the pre-flight go to stderr apart). */
export function renderStart(i: StartInfo, dryRun: boolean): string[] {
  return [
    `Metadata database: ${i.database.location} (Dify ${i.database.release ?? 'unknown release'}, revision ${i.database.revision ?? 'none'})`,
    `Target: ${i.target.type} at ${i.target.location} (${i.target.serverVersion})`,
    `${i.units} dataset(s)/app(s) selected${dryRun ? ' (dry run: nothing is written)' : ''}.`,
  ]
}

export function renderResult(res: VdbMigrateJson): string[] {
  const lines = res.sources.map((s) => `Source: ${s.type} at ${s.location} (${s.serverVersion})`)
  if (res.units.length) {
    lines.push(
      '',
      table(
        res.units.map((u) => ({ ...u, src: u.source.type ?? 'cache', note: u.reason ?? '' })),
        [
          { key: 'kind', header: 'KIND' },
          { key: 'id', header: 'ID' },
          { key: 'outcome', header: 'OUTCOME' },
          { key: 'src', header: 'SOURCE' },
          { key: 'live', header: 'LIVE' },
          { key: 'fromSource', header: 'FROM STORE' },
          { key: 'fromCache', header: 'FROM CACHE' },
          { key: 'missing', header: 'MISSING' },
          { key: 'orphans', header: 'ORPHANS' },
          { key: 'note', header: 'NOTE' },
        ],
      ),
    )
  }
  const t = res.totals
  lines.push(
    `\n${res.dryRun ? 'Plan' : 'Done'}: ${t.migrated} migrated, ${t.skipped} skipped, ${t.failed} failed, ${t.incomplete} incomplete${t.planned ? `, ${t.planned} planned` : ''}${res.interrupted ? ' (interrupted; rerun to continue)' : ''}.`,
  )
  return lines
}
