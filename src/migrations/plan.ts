import { existsSync } from 'node:fs'
import { ConfigError, UsageError, type DifyOpsError } from '../core/errors.js'
import { REVISIONS, releaseOfRevision } from '../dify/releases.js'
import { DIFY_API_VERSIONS_DIR, findVersionsDir, noMigrationsUnder, readDifyCode } from '../dify/dify-code.js'
import { nearestRevisions, type Chain } from './graph.js'
import { DIFY_SENTINEL_TABLES, type DbState } from './state.js'
import type { Revision, SqlDialect } from './types.js'

export interface Target {
  revision: string
  /** cli: the CLI's own head; dify-code: the head of the Dify code at hand; flag: --to */
  source: 'cli' | 'dify-code' | 'flag'
  /** the versions directory read when the Dify code decided (or bounded) the target */
  difyCodeDir?: string
  difyCodeHead?: string
}

export interface TargetOptions {
  to?: string
  difyRoot?: string
  /** directories looked at when --dify-root is not given (default: the dify-api image's) */
  autoDirs?: string[]
}

/** Human label of a revision: "d57accd375ae (Dify 1.11.0–1.11.1)". */
export function describeRevision(revision: string): string {
  const r = releaseOfRevision(revision)
  return r.known ? `${revision} (${r.description})` : revision
}

/**
 * Decide the target revision. Default is the CLI's head; when Dify's code is at hand (--dify-root, or the
 * dify-api image's /app/api/migrations/versions) it is that code's head, so Dify never meets a revision it cannot
 * locate; --to sets it explicitly (unknown → exit 2 with the nearest known ids; past the code's head → exit 4).
 */
export function resolveTarget(chain: Chain, opts: TargetOptions): Target {
  let code: { dir: string; head: string } | undefined
  if (opts.difyRoot) {
    const dir = findVersionsDir(opts.difyRoot)
    if (!dir) throw noMigrationsUnder(opts.difyRoot)
    code = readDifyCode(dir)
  } else {
    for (const d of opts.autoDirs ?? [DIFY_API_VERSIONS_DIR]) {
      if (existsSync(d)) {
        code = readDifyCode(d)
        break
      }
    }
  }
  if (code && !chain.byId.has(code.head)) {
    const rel = releaseOfRevision(code.head)
    const newer = rel.known && rel.seq !== undefined && rel.seq > (REVISIONS.get(chain.head.revision)?.seq ?? Infinity)
    throw new ConfigError(
      `The Dify code in ${code.dir} expects schema ${describeRevision(code.head)}, which this CLI cannot migrate to (it knows ${chain.root.revision} … ${chain.head.revision}).`,
      {
        hint: newer
          ? 'This Dify is newer than dify-ops supports: use a newer dify-ops, or let Dify migrate itself (flask upgrade-db).'
          : 'Run the Dify version whose schema this CLI supports, or pass --to REV to choose a target explicitly.',
        details: { difyCodeHead: code.head, difyCodeDir: code.dir },
      },
    )
  }
  if (opts.to !== undefined) {
    const rev = resolveRevisionArg(chain, opts.to, '--to')
    if (code && chain.index.get(rev)! > chain.index.get(code.head)!) {
      throw new ConfigError(
        `--to ${rev} is past the head of the Dify code in ${code.dir} (${code.head}); Dify would not find that revision.`,
        {
          hint: `Use --to ${code.head} or an earlier revision, or upgrade the Dify code first.`,
        },
      )
    }
    return { revision: rev, source: 'flag', ...(code ? { difyCodeDir: code.dir, difyCodeHead: code.head } : {}) }
  }
  if (code) return { revision: code.head, source: 'dify-code', difyCodeDir: code.dir, difyCodeHead: code.head }
  return { revision: chain.head.revision, source: 'cli' }
}

/** A revision argument: an exact id, a unique prefix (as Alembic accepts), or "head". Unknown → exit 2. */
export function resolveRevisionArg(chain: Chain, arg: string, flag: string): string {
  const a = arg.trim().toLowerCase()
  if (a === 'head' || a === 'heads') return chain.head.revision
  if (chain.byId.has(a)) return a
  // the floor (Dify 1.0.0's head) is a state a database may be in, not a target
  if (flag !== '--to' && chain.floor !== null && a === chain.floor) return a
  const ids = chain.ordered.map((r) => r.revision)
  const pref = a.length >= 4 ? ids.filter((id) => id.startsWith(a)) : []
  if (pref.length === 1) return pref[0]!
  const near = nearestRevisions(a, ids)
  const rel = releaseOfRevision(a)
  throw new UsageError(
    `${flag} ${arg} is not a revision this CLI can migrate to${rel.known ? ` (it is Dify's ${rel.description})` : ''}.`,
    {
      hint: near.length
        ? `Nearest known revisions: ${near.join(', ')}. See dify db history for the full list.`
        : 'See dify db history for the revisions this CLI knows.',
      details: { nearest: near },
    },
  )
}

export interface Plan {
  /** the database's current revision; null for an empty database */
  current: string | null
  target: Target
  /** revisions to apply, in order */
  pending: Revision[]
  /** why the database cannot be upgraded (exit 4), or undefined */
  problem?: DifyOpsError
}

/**
 * Compare the database state with the target and list the revisions to apply (pure). `dialect` (when known) refuses
 * steps that do not exist on MySQL (before Dify's first MySQL release).
 */
export function makePlan(chain: Chain, state: DbState, target: Target, dialect?: SqlDialect): Plan {
  const plan = makePlanAnyDialect(chain, state, target)
  if (dialect === 'mysql' && !plan.problem) {
    const pgOnly = plan.pending.filter((r) => r.mysql === false)
    if (pgOnly.length) return { ...plan, pending: [], problem: mysqlTooOld(plan.current, pgOnly) }
  }
  return plan
}

/** A MySQL database at a revision older than Dify's first MySQL release (only reachable by a stamp or a fork). */
function mysqlTooOld(current: string | null, pgOnly: Revision[]): DifyOpsError {
  const first = pgOnly.at(-1)!
  const rel = current ? releaseOfRevision(current) : undefined
  return new ConfigError(
    `The MySQL database is at ${current}${rel?.known ? ` (${rel.description})` : ''}, older than Dify's first MySQL release 1.10.1 (${first.revision}); revisions before it exist on PostgreSQL only.`,
    {
      hint: 'Dify never ran on MySQL before 1.10.1: check alembic_version (dify db stamp REV records the revision the schema really has), or migrate with the Dify release that created this database.',
      details: { current, mysqlFrom: first.revision, pgOnly: pgOnly.map((r) => r.revision) },
    },
  )
}

function makePlanAnyDialect(chain: Chain, state: DbState, target: Target): Plan {
  const versions = state.versions ?? []
  const targetIdx = chain.index.get(target.revision)!
  const base = { target, pending: [] as Revision[] }
  if (versions.length === 0) {
    const dify = state.otherTables.filter((t) => (DIFY_SENTINEL_TABLES as readonly string[]).includes(t))
    if (dify.length) {
      return {
        ...base,
        current: null,
        problem: new ConfigError(
          `The database has Dify tables (${dify.slice(0, 4).join(', ')}) but no ${state.versions ? 'row in alembic_version' : 'alembic_version table'}, so its schema version is unknown.`,
          {
            hint: 'If you know which Dify release created it, record that with dify db stamp REV (see dify db history), then run the upgrade again.',
            details: { tables: state.otherTables.slice(0, 20) },
          },
        ),
      }
    }
    if (state.otherTables.length) {
      return {
        ...base,
        current: null,
        problem: new ConfigError(
          `The database is not empty (${state.otherTables.length} table(s), e.g. ${state.otherTables.slice(0, 4).join(', ')}) and has no Dify schema version.`,
          {
            hint: 'Point DB_DATABASE at an empty database (or the Dify one), or drop those tables.',
            details: { tables: state.otherTables.slice(0, 20) },
          },
        ),
      }
    }
    return emptyPlan(chain, target)
  }
  if (versions.length > 1) {
    return {
      ...base,
      current: null,
      problem: new ConfigError(
        `alembic_version holds ${versions.length} rows (${versions.join(', ')}): the database stopped inside Dify's 0.6.x branch window, long before what this CLI supports.`,
        {
          hint: "Finish that upgrade with Dify's own migrations (flask upgrade-db of Dify ≥ 1.11.0), then run dify upgrade-db.",
          details: { versions },
        },
      ),
    }
  }
  const current = versions[0]!
  const idx = current === chain.floor ? -1 : chain.index.get(current)
  if (idx !== undefined) {
    if (idx > targetIdx) {
      return {
        ...base,
        current,
        problem: new ConfigError(
          `The database is at ${describeRevision(current)}, ahead of the target ${describeRevision(target.revision)}${targetWhy(target)}; downgrades are not supported.`,
          {
            hint: 'Run the Dify version that matches the database, or choose a later target with --to.',
            details: { current, target: target.revision },
          },
        ),
      }
    }
    return { ...base, current, pending: chain.ordered.slice(idx + 1, targetIdx + 1) }
  }
  const rel = releaseOfRevision(current)
  const oldest = chain.floor ?? chain.root.revision
  const rootSeq = REVISIONS.get(oldest)?.seq
  const headSeq = REVISIONS.get(chain.head.revision)?.seq
  if (rel.known && rootSeq !== undefined && rel.seq! < rootSeq) {
    return {
      ...base,
      current,
      problem: new ConfigError(
        `The database is at ${current} (${rel.description}), older than the oldest schema this CLI upgrades from, ${describeRevision(oldest)}.`,
        {
          hint: `Upgrade it first with Dify's own migrations: start Dify ${releaseOfRevision(oldest).atLeast ?? 'of that release'} or later once (MIGRATION_ENABLED=true, or flask upgrade-db in its dify-api container), then run dify upgrade-db.`,
          details: { current, release: rel.release ?? rel.atLeast ?? null, oldestSupported: oldest },
        },
      ),
    }
  }
  if (rel.known && headSeq !== undefined && rel.seq! > headSeq) {
    return {
      ...base,
      current,
      problem: new ConfigError(
        `The database is at ${current} (${rel.description}), newer than anything this CLI knows (its head is ${describeRevision(chain.head.revision)}).`,
        {
          hint: "Nothing to upgrade with this CLI and downgrades are not supported: use a dify-ops release that knows this schema, or Dify's own flask upgrade-db.",
          details: { current, cliHead: chain.head.revision },
        },
      ),
    }
  }
  return {
    ...base,
    current,
    problem: new ConfigError(`The database is at revision ${current}, which is ${rel.description}.`, {
      hint: 'It was migrated by a Dify build this CLI does not know (newer, pre-release, or a fork). Use the Dify code that created it (flask upgrade-db), or a dify-ops release that knows it.',
      details: { current },
    }),
  }
}

/** An empty database: the baseline, then the steps after the baseline's revision up to the target. */
function emptyPlan(chain: Chain, target: Target): Plan {
  const base = { current: null, target, pending: [] as Revision[] }
  const b = chain.baseline
  if (!b) {
    return {
      ...base,
      problem: new ConfigError('This registry cannot create a database from scratch (it has no baseline).', {
        hint: 'Create the database with Dify first.',
      }),
    }
  }
  const bIdx = chain.index.get(b.revision)!
  const tIdx = chain.index.get(target.revision)!
  if (tIdx < bIdx) {
    return {
      ...base,
      problem: new ConfigError(
        `An empty database starts at the baseline ${describeRevision(b.revision)}; the target ${describeRevision(target.revision)}${targetWhy(target)} is older.`,
        {
          hint: `Choose --to ${b.revision} or later, or create the database with the Dify release of that target.`,
          details: { baseline: b.revision, target: target.revision },
        },
      ),
    }
  }
  return { ...base, pending: [b, ...chain.ordered.slice(bIdx + 1, tIdx + 1)] }
}

function targetWhy(t: Target): string {
  if (t.source === 'dify-code') return ` (the head of the Dify code in ${t.difyCodeDir})`
  if (t.source === 'flag') return ' (--to)'
  return " (this CLI's head)"
}
