import type { Db } from '../core/db.js'
import type { Storage } from '../runtime/storage.js'
import type { DifyProfile } from '../dify/profile.js'
import { canonicalId, classifyPath, fileNameId, storageAreas } from '../dify/storage-refs.js'
import { collectTextReferences, loadFileRows, type FileRow } from './refs.js'

/** An object under a user-file area that no file row owns and no reference site names. */
export interface OrphanObject {
  type: 'orphan'
  path: string
  size: number
  /** ISO time of the object's last modification */
  modified: string
  ageSeconds: number
  prefix: string
  kind: string
  tenantId: string | null
}

/** A file row whose object is not in the storage. Listed only: dify-ops never deletes such rows. */
export interface MissingObject {
  type: 'missing'
  table: FileRow['table']
  id: string
  key: string
  /** the size the row records, when it does */
  size: number | null
  createdAt: string | null
  ageSeconds: number | null
  prefix: string
  kind: string
  tenantId: string | null
}

/**
 * A row that names a file id (message_files.upload_file_id, documents.data_source_info upload_file_id, …) with
 * no upload_files/tool_files row of that id. Listed only: dify-ops never deletes or changes such rows.
 */
export interface DanglingReference {
  type: 'dangling'
  table: string
  column: string
  rowId: string
  fileId: string
}

export interface OrphansSummary {
  type: 'summary'
  location: string
  minAgeSeconds: number
  objects: number
  bytes: number
  orphans: number
  orphanBytes: number
  missing: number
  /** references to a file id with no file row */
  dangling: number
  /** user-file objects without a row, kept: younger than --min-age, of unknown age, or named in a reference site */
  keptYoung: number
  keptUnknownAge: number
  keptReferencedInText: number
  /** objects outside the user-file areas (keys, indexes, caches, exports, unknown prefixes): never orphans */
  keptOtherAreas: number
  fileRows: number
  /** reference sites scanned / absent in this schema */
  sitesScanned: number
  sitesSkipped: string[]
}

export interface OrphansDeps {
  db: Db
  profile: DifyProfile
  storage: Pick<Storage, 'walk' | 'location'>
  now?: () => Date
}

/**
 * Storage objects nothing references and file rows whose object is missing (docs/storage.md "orphans").
 * The file rows and the reference sites are read BEFORE the listing, so an object Dify saves during the run (it
 * saves the object, then commits the row) is at most younger than --min-age, and never an orphan.
 */
export async function findOrphans(
  deps: OrphansDeps,
  opts: {
    minAgeSeconds: number
    /** keep the findings in the result (false when they are streamed) */ collect?: boolean
    onFinding?: (f: OrphanObject | MissingObject | DanglingReference) => void
    onProgress?: (phase: string, n: number) => void
    signal?: AbortSignal
  },
): Promise<{
  orphans: OrphanObject[]
  missing: MissingObject[]
  dangling: DanglingReference[]
  summary: OrphansSummary
}> {
  const now = (deps.now ?? (() => new Date()))()
  opts.onProgress?.('file rows', 0)
  const rows = await loadFileRows(deps.db)
  opts.onProgress?.('reference sites', 0)
  const fileIds = new Set<string>()
  for (const list of rows.values()) for (const r of list) fileIds.add(canonicalId(r.id))
  const refs = await collectTextReferences(deps.db, undefined, (id) => fileIds.has(id))
  fileIds.clear()
  const areas = storageAreas(deps.profile)
  const seen = new Set<string>()
  const orphans: OrphanObject[] = []
  const missing: MissingObject[] = []
  const s: OrphansSummary = {
    type: 'summary',
    location: deps.storage.location,
    minAgeSeconds: opts.minAgeSeconds,
    objects: 0,
    bytes: 0,
    orphans: 0,
    orphanBytes: 0,
    missing: 0,
    dangling: refs.dangling.length,
    keptYoung: 0,
    keptUnknownAge: 0,
    keptReferencedInText: 0,
    keptOtherAreas: 0,
    fileRows: [...rows.values()].reduce((n, l) => n + l.length, 0),
    sitesScanned: refs.scanned.length,
    sitesSkipped: refs.skipped.map((x) => `${x.table}.${x.column}`),
  }
  for await (const o of deps.storage.walk('')) {
    if (opts.signal?.aborted) break
    s.objects++
    s.bytes += o.size
    if (s.objects % 1000 === 0) opts.onProgress?.('listing', s.objects)
    if (rows.has(o.path)) {
      seen.add(o.path)
      continue
    }
    const c = classifyPath(o.path, areas)
    if (c.area?.role !== 'user-file') {
      s.keptOtherAreas++
      continue
    }
    const nameId = fileNameId(o.path)
    if (nameId && refs.tokens.has(nameId)) {
      s.keptReferencedInText++
      continue
    }
    if (!o.lastModified) {
      s.keptUnknownAge++
      continue
    }
    const age = Math.floor((now.getTime() - o.lastModified.getTime()) / 1000)
    if (age < opts.minAgeSeconds) {
      s.keptYoung++
      continue
    }
    const f: OrphanObject = {
      type: 'orphan',
      path: o.path,
      size: o.size,
      modified: o.lastModified.toISOString(),
      ageSeconds: age,
      prefix: c.prefix,
      kind: c.kind,
      tenantId: c.tenantId,
    }
    s.orphans++
    s.orphanBytes += o.size
    if (opts.collect !== false) orphans.push(f)
    opts.onFinding?.(f)
  }
  if (!opts.signal?.aborted) {
    for (const [key, list] of rows) {
      if (seen.has(key)) continue
      const c = classifyPath(key, areas)
      for (const r of list) {
        const f: MissingObject = {
          type: 'missing',
          table: r.table,
          id: r.id,
          key,
          size: r.size,
          createdAt: r.createdAt?.toISOString() ?? null,
          ageSeconds: r.createdAt ? Math.floor((now.getTime() - r.createdAt.getTime()) / 1000) : null,
          prefix: c.prefix,
          kind: c.kind,
          tenantId: r.tenantId ?? c.tenantId,
        }
        s.missing++
        if (opts.collect !== false) missing.push(f)
        opts.onFinding?.(f)
      }
    }
  }
  const dangling: DanglingReference[] = []
  if (!opts.signal?.aborted) {
    for (const d of refs.dangling) {
      const f: DanglingReference = { type: 'dangling', ...d }
      if (opts.collect !== false) dangling.push(f)
      opts.onFinding?.(f)
    }
  }
  return { orphans, missing, dangling, summary: s }
}
