import type { Revision } from './types.js'

/**
 * The revision graph of a registry: built from revision → downRevision only (never from list or file order).
 * dify-ops applies a linear chain of STEPS: one root (the first step; its downRevision, the "floor", is the oldest
 * revision a database may be at, or null), every revision at most one child. Separately, a BASELINE may stand for
 * one step's revision: an empty database gets it in one go, then the steps after it. (Older model, still accepted for
 * synthetic registries: the root itself is the baseline, `baseline: true` and downRevision null.)
 */
export interface Chain {
  /** the steps, root first, head last */
  ordered: Revision[]
  byId: ReadonlyMap<string, Revision>
  /** position of each revision in `ordered` */
  index: ReadonlyMap<string, number>
  /** the first step */
  root: Revision
  head: Revision
  /** the revision the first step revises: a database there gets every step (null when the root is a baseline) */
  floor: string | null
  /** what an empty database gets first (its revision is a step's), or null when an empty database cannot be created */
  baseline: Revision | null
}

export class RegistryError extends Error {}

export function buildChain(revisions: readonly Revision[], baseline?: Revision): Chain {
  if (revisions.length === 0) throw new RegistryError('the revision registry is empty')
  const byId = new Map<string, Revision>()
  const children = new Map<string | null, Revision[]>()
  for (const r of revisions) {
    if (byId.has(r.revision)) throw new RegistryError(`revision ${r.revision} is registered twice`)
    byId.set(r.revision, r)
  }
  const roots: Revision[] = []
  for (const r of revisions) {
    if (r.downRevision === null || !byId.has(r.downRevision)) roots.push(r)
    else children.set(r.downRevision, [...(children.get(r.downRevision) ?? []), r])
  }
  if (roots.length !== 1) {
    const dangling = roots.find((r) => r.downRevision !== null)
    throw new RegistryError(
      `${dangling && roots.length > 1 ? `revision ${dangling.revision} revises ${dangling.downRevision}, which is not registered; ` : ''}the registry must have exactly one root (the first step), found ${roots.length}`,
    )
  }
  const ordered: Revision[] = []
  let cur: Revision | undefined = roots[0]!
  while (cur) {
    ordered.push(cur)
    const next: Revision[] = children.get(cur.revision) ?? []
    if (next.length > 1)
      throw new RegistryError(
        `revision ${cur.revision} has ${next.length} children (${next.map((n) => n.revision).join(', ')}): the chain must be linear`,
      )
    cur = next[0]
  }
  if (ordered.length !== revisions.length) throw new RegistryError('some revisions are not reachable from the root')
  const root = ordered[0]!
  let base: Revision | null = null
  if (baseline) {
    if (!byId.has(baseline.revision))
      throw new RegistryError(`the baseline ${baseline.revision} is not one of the steps' revisions`)
    base = baseline
  } else if (root.downRevision === null) base = root
  return {
    ordered,
    byId,
    index: new Map(ordered.map((r, i) => [r.revision, i])),
    root,
    head: ordered[ordered.length - 1]!,
    floor: root.downRevision,
    baseline: base,
  }
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
