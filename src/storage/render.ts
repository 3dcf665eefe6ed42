import type { PurgeResult } from './purge.js'
import type { MissingObject, OrphanObject, OrphansSummary } from './orphans.js'
import { formatAge, formatBytes } from './usage.js'

export { formatAge }

/** One human line per finding. */
export function renderFinding(f: OrphanObject | MissingObject): string {
  if (f.type === 'orphan')
    return `orphan   ${f.path}  ${formatBytes(f.size)}  age ${formatAge(f.ageSeconds)}  tenant ${f.tenantId ?? '-'}`
  return `missing  ${f.table} ${f.id} → ${f.key}${f.size === null ? '' : `  ${formatBytes(f.size)}`}${f.ageSeconds === null ? '' : `  age ${formatAge(f.ageSeconds)}`}  tenant ${f.tenantId ?? '-'}`
}

export function renderOrphansSummary(s: OrphansSummary): string[] {
  const kept = s.keptYoung + s.keptUnknownAge + s.keptReferencedInText
  return [
    `Storage ${s.location}: ${s.objects} objects (${formatBytes(s.bytes)}), ${s.fileRows} file rows.`,
    `${s.orphans} orphaned objects (${formatBytes(s.orphanBytes)}) older than ${formatAge(s.minAgeSeconds)}; ${s.missing} file rows whose object is missing.`,
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
