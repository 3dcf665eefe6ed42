import type { Revision } from './types.js'

/**
 * The revision graph of a registry: built from revision → downRevision only (never from list or file order).
 * dify-ops applies a linear chain: one root (the baseline, downRevision null), every revision at most one child.
 */
export interface Chain {
  /** root first, head last */
  ordered: Revision[]
  byId: ReadonlyMap<string, Revision>
  /** position of each revision in `ordered` */
  index: ReadonlyMap<string, number>
  root: Revision
  head: Revision
}

export class RegistryError extends Error {}

export function buildChain(revisions: readonly Revision[]): Chain {
  if (revisions.length === 0) throw new RegistryError('the revision registry is empty')
  const byId = new Map<string, Revision>()
  const children = new Map<string | null, Revision[]>()
  for (const r of revisions) {
    if (byId.has(r.revision)) throw new RegistryError(`revision ${r.revision} is registered twice`)
    byId.set(r.revision, r)
    const list = children.get(r.downRevision) ?? []
    list.push(r)
    children.set(r.downRevision, list)
  }
  const roots = children.get(null) ?? []
  if (roots.length !== 1) throw new RegistryError(`the registry must have exactly one root (downRevision null), found ${roots.length}`)
  for (const r of revisions) {
    if (r.downRevision !== null && !byId.has(r.downRevision)) throw new RegistryError(`revision ${r.revision} revises ${r.downRevision}, which is not registered`)
  }
  const ordered: Revision[] = []
  let cur: Revision | undefined = roots[0]!
  while (cur) {
    ordered.push(cur)
    const next: Revision[] = children.get(cur.revision) ?? []
    if (next.length > 1) throw new RegistryError(`revision ${cur.revision} has ${next.length} children (${next.map((n) => n.revision).join(', ')}): the chain must be linear`)
    cur = next[0]
  }
  if (ordered.length !== revisions.length) throw new RegistryError('some revisions are not reachable from the root')
  return { ordered, byId, index: new Map(ordered.map((r, i) => [r.revision, i])), root: ordered[0]!, head: ordered[ordered.length - 1]! }
}

/** Levenshtein distance (small strings only). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = tmp
    }
  }
  return prev[b.length]!
}

/** The known revisions nearest to `wanted`: prefix matches first, then by edit distance (at most `max`). */
export function nearestRevisions(wanted: string, known: readonly string[], max = 3): string[] {
  const w = wanted.toLowerCase()
  const prefix = known.filter((k) => k.startsWith(w) || w.startsWith(k))
  const rest = known
    .filter((k) => !prefix.includes(k))
    .map((k) => ({ k, d: editDistance(w, k) }))
    .filter((x) => x.d <= Math.max(3, Math.floor(k12(w) / 2)))
    .sort((a, b) => a.d - b.d)
    .map((x) => x.k)
  return [...prefix, ...rest].slice(0, max)
}
const k12 = (s: string) => Math.min(s.length, 12)
