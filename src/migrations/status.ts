import { sql } from 'kysely'
import { BusyError, ConfigError, DifyOpsError } from '../core/errors.js'
import { releaseOfRevision } from '../dify/releases.js'
import type { Db } from '../core/db.js'
import type { OpenedRedis } from '../runtime/redis.js'
import { DbUpgradeLock, difyLockPrefix, inspectDbLock, inspectRedisLock, type LockHolder } from './lock.js'
import { makePlan, resolveRevisionArg, resolveTarget, type Target, type TargetOptions } from './plan.js'
import { ALEMBIC_VERSION_DDL, type Revision } from './types.js'
import { readDbState } from './state.js'
import { chainOf, pendingWithImpact, type PendingRevision } from './upgrade.js'
import { versionStatement } from './runner.js'
import { checkSchema, type SchemaCheck } from './health.js'
import { pendingDataEffects, type PendingDataEffect } from './impact.js'

export interface StatusResult {
  database: string
  dialect: 'postgres' | 'mysql'
  transactionalDdl: boolean
  /** the rows of alembic_version (null: no table) */
  versions: string[] | null
  current: string | null
  currentRelease: string | null
  target: Target
  targetRelease: string | null
  upToDate: boolean
  pending: PendingRevision[]
  /** why `db upgrade` would refuse (exit 4), if it would */
  problem: { message: string; hint?: string } | null
  /** the live schema against the expected schema at alembic_version (half-applied upgrades) */
  schema: SchemaCheck
  /** rows the pending revisions delete, move or rewrite (counted read-only) */
  dataEffects: PendingDataEffect[]
  lock: {
    redis: (LockHolder & { key: string }) | { error: string }
    /** another dify-ops run holds the database-level lock (null: not applicable, PGlite) */
    database: boolean | null
  }
}

export async function dbStatus(
  deps: { db: () => Promise<Db>; redis?: () => Promise<OpenedRedis>; database: string; revisions?: Revision[] },
  opts: TargetOptions = {},
): Promise<StatusResult> {
  const chain = chainOf(deps.revisions)
  // status reports rather than refuses: Dify code this CLI cannot serve becomes the problem, the CLI head the target
  let target: Target
  let targetProblem: DifyOpsError | undefined
  try {
    target = resolveTarget(chain, opts)
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    targetProblem = e
    target = { revision: chain.head.revision, source: 'cli' }
  }
  const db = await deps.db()
  const state = await readDbState(db)
  const made = makePlan(chain, state, target, db.dialect)
  const plan = targetProblem && !made.problem ? { ...made, problem: targetProblem } : made
  let redis: StatusResult['lock']['redis'] = { error: 'not configured' }
  if (deps.redis) {
    try {
      const r = await deps.redis()
      const { keys } = await import('../dify/keys.js')
      const prefix = difyLockPrefix(r.keyPrefix, target)
      redis = { key: keys.dbUpgradeLock(prefix), ...(await inspectRedisLock(r.client, prefix)) }
    } catch (e) {
      redis = { error: (e as Error).message }
    }
  }
  const current = state.versions?.length === 1 ? state.versions[0]! : null
  const rel = (r: string | null) => (r && releaseOfRevision(r).known ? releaseOfRevision(r).description : null)
  return {
    database: db.describe,
    dialect: db.dialect,
    transactionalDdl: db.transactionalDdl,
    versions: state.versions,
    current,
    currentRelease: rel(current),
    target,
    targetRelease: rel(target.revision),
    upToDate: !plan.problem && plan.pending.length === 0,
    pending: await pendingWithImpact(db, plan, state),
    problem: plan.problem ? { message: plan.problem.message, hint: plan.problem.hint } : null,
    schema: await checkSchema(db, current),
    dataEffects: plan.problem ? [] : await pendingDataEffects(db, plan.pending),
    lock: { redis, database: await inspectDbLock(db, deps.database) },
  }
}

export interface HistoryEntry {
  revision: string
  downRevision: string | null
  release: string
  description: string
  baseline: boolean
  current: boolean
  head: boolean
}

export interface HistoryResult {
  current: string | null
  head: string
  /** null when the database could not be read */
  databaseReachable: boolean
  revisions: HistoryEntry[]
}

/** The chain this CLI knows, root first, marking the database's revision and the head. */
export function history(revisions: Revision[] | undefined, current: string | null, reachable: boolean): HistoryResult {
  const chain = chainOf(revisions)
  return {
    current,
    head: chain.head.revision,
    databaseReachable: reachable,
    revisions: chain.ordered.map((r) => ({
      revision: r.revision,
      downRevision: r.downRevision,
      release: r.release,
      description: r.description,
      baseline: r.revision === chain.baseline?.revision,
      current: r.revision === current,
      head: r === chain.head,
    })),
  }
}

export interface StampResult {
  database: string
  from: string[] | null
  to: string
  toRelease: string | null
  dryRun: boolean
  /** the SQL run (or that would run) */
  statements: string[]
}

/**
 * `dify db stamp REV`: write alembic_version only (Alembic's `stamp`), creating the table as Alembic does and
 * replacing whatever rows are there (also the 2-row state). Refuses while an upgrade holds the locks (exit 6).
 */
export async function stampDb(
  deps: { db: () => Promise<Db>; redis?: () => Promise<OpenedRedis>; database: string; revisions?: Revision[] },
  rev: string,
  opts: { dryRun?: boolean; confirm?: (from: string[] | null, to: string) => Promise<boolean> } = {},
): Promise<StampResult> {
  const chain = chainOf(deps.revisions)
  const to = resolveRevisionArg(chain, rev, 'REV')
  const db = await deps.db()
  const state = await readDbState(db)
  const statements: string[] = []
  if (state.versions === null) statements.push(ALEMBIC_VERSION_DDL)
  if (state.versions && state.versions.length) statements.push('DELETE FROM alembic_version')
  statements.push(versionStatement(null, to))
  const result: StampResult = {
    database: db.describe,
    from: state.versions,
    to,
    toRelease: releaseOfRevision(to).known ? releaseOfRevision(to).description : null,
    dryRun: Boolean(opts.dryRun),
    statements,
  }
  if (state.versions?.length === 1 && state.versions[0] === to) return { ...result, statements: [] }
  if (opts.dryRun) return result
  if (opts.confirm && !(await opts.confirm(state.versions, to)))
    throw new DifyOpsError('Not confirmed; nothing was changed.')
  if (deps.redis) {
    try {
      const r = await deps.redis()
      // the bare key (Dify < 1.14) and the prefixed one (Dify ≥ 1.14, and dify-ops for it)
      const held = [
        await inspectRedisLock(r.client, ''),
        ...(r.keyPrefix ? [await inspectRedisLock(r.client, r.keyPrefix)] : []),
      ]
      if (held.some((h) => h.held))
        throw new BusyError("An upgrade holds Dify's lock db_upgrade_lock; stamping now would race with it.", {
          hint: 'Wait for it to finish (dify db status), or clear a stale lock with dify db lock clear.',
        })
    } catch (e) {
      if (e instanceof BusyError) throw e
    }
  }
  const lock = new DbUpgradeLock(db, deps.database)
  if (!(await lock.tryAcquire())) {
    await lock.release()
    throw new BusyError('A dify-ops upgrade is running on this database; stamping now would race with it.', {
      hint: 'Wait for it to finish (dify db status).',
    })
  }
  try {
    if (db.dialect === 'postgres') {
      await db.kysely.transaction().execute(async (trx) => {
        for (const s of statements) await sql.raw(s).execute(trx)
      })
    } else {
      for (const s of statements) await sql.raw(s).execute(db.kysely)
    }
  } finally {
    await lock.release()
  }
  return result
}
