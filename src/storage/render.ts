import type { MissingObject, OrphanObject, OrphansSummary } from './orphans.js'
import { formatBytes } from './usage.js'

/** "3d 4h", "2h 5m", "40s" */
export function formatAge(seconds: number): string {
  const d = Math.floor(seconds / 86_400)
  const h = Math.floor((seconds % 86_400) / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  if (d) return `${d}d ${h}h`
  if (h) return `${h}h ${m}m`
  if (m) return `${m}m`
  return `${seconds}s`
}

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
