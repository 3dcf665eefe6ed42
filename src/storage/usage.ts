import type { Storage } from '../runtime/storage.js'
import { classifyPath } from '../dify/storage-refs.js'
import { listObjects } from './object-io.js'

export type UsageBy = 'prefix' | 'tenant' | 'kind'

export interface UsageGroup {
  /** the prefix, tenant id ("-" when the path names none) or kind */
  key: string
  objects: number
  bytes: number
}

export interface UsageResult {
  location: string
  by: UsageBy
  total: { objects: number; bytes: number }
  /** largest first (bytes, then objects, then key); only the first `top` when --top */
  groups: UsageGroup[]
  /** groups left out by --top */
  otherGroups: number
}

/**
 * Bytes and object counts per prefix, tenant or kind, from one streamed listing of the whole storage (`listObjects`:
 * on the fs scheme node's readdir + stat, elsewhere OpenDAL's walk).
 */
export async function storageUsage(
  storage: Pick<Storage, 'walk' | 'localPath' | 'location'>,
  opts: { by: UsageBy; top?: number; onProgress?: (objects: number, bytes: number) => void; signal?: AbortSignal },
): Promise<UsageResult> {
  const groups = new Map<string, UsageGroup>()
  let objects = 0
  let bytes = 0
  for await (const o of listObjects(storage)) {
    if (opts.signal?.aborted) break
    objects++
    bytes += o.size
    const key = groupKey(o, opts.by)
    const g = groups.get(key)
    if (g) {
      g.objects++
      g.bytes += o.size
    } else groups.set(key, { key, objects: 1, bytes: o.size })
    if (opts.onProgress && objects % 1000 === 0) opts.onProgress(objects, bytes)
  }
  const sorted = [...groups.values()].sort(
    (a, b) => b.bytes - a.bytes || b.objects - a.objects || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  )
  const top = opts.top ?? sorted.length
  return {
    location: storage.location,
    by: opts.by,
    total: { objects, bytes },
    groups: sorted.slice(0, top),
    otherGroups: Math.max(0, sorted.length - top),
  }
}

function groupKey(o: { path: string }, by: UsageBy): string {
  const c = classifyPath(o.path)
  if (by === 'prefix') return c.prefix
  if (by === 'kind') return c.kind
  return c.tenantId ?? '-'
}

/** 1536 → "1.5 KiB" */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`
}

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
