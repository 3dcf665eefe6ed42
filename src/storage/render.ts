import type { PurgeResult } from './purge.js'
import type { MigrateResult } from './migrate.js'
import type { DanglingReference, MissingObject, OrphanObject, OrphansSummary } from './orphans.js'
import { formatAge, formatBytes } from './usage.js'

export { formatAge }

/** One human line per finding. */
export function renderFinding(f: OrphanObject | MissingObject | DanglingReference): string {
  if (f.type === 'dangling') return `dangling ${f.table}.${f.column} of ${f.rowId} → file ${f.fileId} (no file row)`
  if (f.type === 'orphan')
    return `orphan   ${f.path}  ${formatBytes(f.size)}  age ${formatAge(f.ageSeconds)}  tenant ${f.tenantId ?? '-'}`
  return `missing  ${f.table} ${f.id} → ${f.key}${f.size === null ? '' : `  ${formatBytes(f.size)}`}${f.ageSeconds === null ? '' : `  age ${formatAge(f.ageSeconds)}`}  tenant ${f.tenantId ?? '-'}`
}

export function renderOrphansSummary(s: OrphansSummary): string[] {
  const kept = s.keptYoung + s.keptUnknownAge + s.keptReferencedInText
  return [
    `Storage ${s.location}: ${s.objects} objects (${formatBytes(s.bytes)}), ${s.fileRows} file rows.`,
    `${s.orphans} orphaned objects (${formatBytes(s.orphanBytes)}) older than ${formatAge(s.minAgeSeconds)}; ${s.missing} file rows whose object is missing; ${s.dangling} references to a file id with no file row.`,
    `Kept without a file row: ${kept} (${s.keptYoung} younger than --min-age, ${s.keptReferencedInText} named in a reference site, ${s.keptUnknownAge} of unknown age); ${s.keptOtherAreas} objects outside the user-file areas are never orphans.`,
    ...(s.sitesSkipped.length ? [`Reference sites absent in this schema: ${s.sitesSkipped.join(', ')}.`] : []),
  ]
}

export function renderPurge(r: PurgeResult): string[] {
  const head = `Quarantine run ${r.runId}, created ${r.createdAt} (${formatAge(r.ageSeconds)} ago, grace period ${formatAge(r.olderThanSeconds)}).`
  if (r.dryRun)
    return [
      head,
      ...r.objects.map((o) => `would delete ${o.path}  ${formatBytes(o.size)}`),
      `Dry run: would delete ${r.objects.length} objects (${formatBytes(r.bytes)}). Nothing was changed.`,
    ]
  return [head, `Deleted ${r.deleted} objects (${formatBytes(r.bytes)}) for good.`]
}

export function renderMigrate(r: MigrateResult): string[] {
  const out = [
    `From ${r.source} to ${r.target}${r.prefixes.length ? ` (under ${r.prefixes.join(', ')})` : ''}: ${r.objects} objects (${formatBytes(r.bytes)}), ${r.keyObjects.privkeys} tenant private keys, .dify_secret_key ${r.keyObjects.secretKey ? 'included' : 'absent'}.`,
  ]
  if (r.dryRun) {
    out.push(
      `Dry run: would copy ${r.copied} objects (${formatBytes(r.copiedBytes)}); ${r.skipped} already at the target with the same content${r.conflicts.length ? `; ${r.conflicts.length} differ there and would be replaced (--overwrite)` : ''}. Nothing was written.`,
    )
  } else {
    out.push(
      `Copied ${r.copied} objects (${formatBytes(r.copiedBytes)})${r.overwritten ? `, ${r.overwritten} of them over different objects` : ''}; ${r.skipped} were already there with the same content.`,
      `Verified: size of ${r.verified.size}, sha256 of ${r.verified.hash}.`,
    )
    if (r.sourceDeleted) out.push(`Deleted ${r.sourceDeleted} objects from the source.`)
  }
  if (r.targetOnly) out.push(`${r.targetOnly} objects of the target are not in the source (left alone).`)
  if (r.database) {
    const types = Object.entries(r.database.storageTypes)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')
    out.push(
      `The database holds storage keys, not URLs: nothing in it changes (${r.database.rows} file rows checked, ${r.database.absolute.length} with an absolute location). upload_files.storage_type (${types || 'no rows'}) records the first writer only; Dify reads through STORAGE_TYPE.`,
    )
  }
  if (!r.dryRun)
    out.push(
      'Next: point STORAGE_TYPE/OPENDAL_* of dify-api and the worker at the target, then run dify encryption check.',
    )
  return out
}
