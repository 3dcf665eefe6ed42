import { table } from '../core/table.js'
import type { CheckResult, TargetCheck } from './check.js'
import type { RepairResult } from './repair.js'

const kinds = (t: TargetCheck) =>
  Object.entries(t.live)
    .filter(([k, v]) => k !== 'total' && v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none'

export function renderShow(t: TargetCheck): string[] {
  const s = t.store
  const lines = [
    `${t.scope === 'knowledge' ? 'Dataset' : 'Annotation app'} ${t.id} (${t.name}), tenant ${t.tenantId}`,
    `  store          ${s.type} (from ${s.typeFrom === 'index_struct' ? 'datasets.index_struct' : 'VECTOR_STORE'})`,
    `  collection     ${s.collection}${s.groupId ? ` (group_id ${s.groupId})` : ''}`,
    `  physical name  ${s.physicalName}${s.exists === false ? ' (does not exist)' : ''}`,
    `  metric         ${s.metric ?? '-'}   dimension ${s.dimension ?? '-'}`,
    `  index_struct   ${s.indexStruct ?? '(null)'}`,
    '',
    `  live items     ${t.live.total} (${kinds(t)})`,
    `  in the store   ${t.stored ?? '-'}`,
    `  missing        ${t.missing}${ex(t.examples.missing)}`,
    `  orphaned       ${t.orphaned}${ex(t.examples.orphaned)}`,
    `  duplicated     ${t.duplicated}${ex(t.examples.duplicated)}`,
    `  off-norm       ${t.offNorm}${ex(t.examples.offNorm)}`,
    `  sample         ${t.sample.checked} checked: ${t.sample.equal} equal to the cache, ${t.sample.mismatched} differ, ${t.sample.noCacheEntry} not cached${t.sample.unreadableCacheEntry ? `, ${t.sample.unreadableCacheEntry} unreadable cache entries` : ''}`,
    `  status         ${t.status}${t.error ? `: ${t.error}` : ''}`,
  ]
  return lines
}

function ex(ids: string[]): string {
  return ids.length ? `  e.g. ${ids.slice(0, 3).join(', ')}` : ''
}

export function renderCheck(r: CheckResult): string[] {
  if (!r.targets.length) return ['No dataset or annotation app with vectors matched.']
  const rows = r.targets.map((t) => ({
    status: t.status,
    kind: t.scope === 'knowledge' ? 'dataset' : 'app',
    id: t.id,
    name: t.name.length > 24 ? t.name.slice(0, 23) + '…' : t.name,
    store: t.store.type,
    live: t.live.total,
    stored: t.stored ?? '-',
    missing: t.missing,
    orphaned: t.orphaned,
    dup: t.duplicated,
    sample: t.sample.checked
      ? `${t.sample.equal}/${t.sample.checked}${t.sample.mismatched ? ` (${t.sample.mismatched} differ)` : ''}`
      : '-',
  }))
  const s = r.summary
  return [
    table(rows, [
      { key: 'status', header: 'STATUS' },
      { key: 'kind', header: 'KIND' },
      { key: 'id', header: 'ID' },
      { key: 'name', header: 'NAME' },
      { key: 'store', header: 'STORE' },
      { key: 'live', header: 'LIVE' },
      { key: 'stored', header: 'STORED' },
      { key: 'missing', header: 'MISSING' },
      { key: 'orphaned', header: 'ORPHANED' },
      { key: 'dup', header: 'DUP' },
      { key: 'sample', header: 'SAMPLE=CACHE' },
    ]),
    '',
    `${s.targets} checked: ${s.consistent} consistent, ${s.drift} with drift, ${s.unreachable} unreachable, ${s.unsupported} unsupported store. ` +
      `Live ${s.live}, stored ${s.stored}, missing ${s.missing}, orphaned ${s.orphaned}, duplicated ${s.duplicated}, sample mismatches ${s.sampleMismatched}, off-norm ${s.offNorm}.`,
  ]
}

export function renderRepair(r: RepairResult): string[] {
  const rows = r.targets.map((t) => ({
    status: t.status,
    id: t.id,
    store: t.storeType,
    orphans: r.dryRun
      ? `${t.orphans.wouldDelete}/${t.orphans.found} would be deleted`
      : `${t.orphans.deleted}/${t.orphans.found} deleted`,
    missing: r.dryRun
      ? `${t.missing.fillable}/${t.missing.found} fillable`
      : `${t.missing.filled}/${t.missing.found} filled`,
    unfillable: t.missing.unfillable
      ? Object.entries(t.missing.unfillableByReason)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')
      : '-',
    note: t.error ?? (t.duplicated ? `${t.duplicated} duplicated (not repairable)` : ''),
  }))
  const s = r.summary
  return [
    table(rows, [
      { key: 'status', header: 'STATUS' },
      { key: 'id', header: 'ID' },
      { key: 'store', header: 'STORE' },
      { key: 'orphans', header: 'ORPHANS' },
      { key: 'missing', header: 'MISSING' },
      { key: 'unfillable', header: 'NOT FILLABLE' },
      { key: 'note', header: 'NOTE' },
    ]),
    '',
    r.dryRun
      ? `Dry run, nothing written: ${s.orphansFound} orphans, ${s.missingFound} missing of which ${s.fillable} can be filled from the embedding cache; ${s.skipped} targets skipped (store unreachable).`
      : `Deleted ${s.orphansDeleted} orphans, filled ${s.filled} of ${s.missingFound} missing; ${s.unfillable} could not be filled; ${s.skipped} targets skipped (store unreachable)${s.failed ? `; ${s.failed} failed part-way (see their errors)` : ''}.`,
  ]
}
