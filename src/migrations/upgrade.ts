import { BusyError, ConfigError, DifyOpsError, InterruptedError } from '../core/errors.js'
import { releaseOfRevision } from '../dify/releases.js'
import type { Db } from '../core/db.js'
import type { OpenedRedis } from '../runtime/redis.js'
import { buildChain, RegistryError, type Chain } from './graph.js'
import { DbUpgradeLock, difyLockPrefix, inspectRedisLock, RedisUpgradeLock, type RedisLockOptions } from './lock.js'
import { makePlan, resolveRevisionArg, resolveTarget, type Plan, type Target, type TargetOptions } from './plan.js'
import { BASELINE, REVISION_LIST } from './registry.js'
import { checkSchema, preflightVerdict, type PreflightVerdict, type SchemaCheck } from './health.js'
import { planSql, runPlan, type AppliedRevision, type RunEvent } from './runner.js'
import { readDbState, readVersions, type DbState } from './state.js'
import {
  pendingDataEffects,
  planImpact,
  type PendingDataEffect,
  type RevisionPreviewResult,
  type TableImpact,
} from './impact.js'
import type { Revision, SqlDialect } from './types.js'
import { mark } from './timing.js'
import { loadSchemaFacts } from './schema/facts.js'

export interface UpgradeDeps {
  /** opens the metadata database (ConnectError → exit 5) */
  db: () => Promise<Db>
  /** opens the app Redis; a failure is a warning (the database lock still serialises runs) */
  redis?: () => Promise<OpenedRedis>
  /** DB_DATABASE (part of the MySQL lock name) */
  database: string
  /** the revisions to apply (default: the registry) */
  revisions?: Revision[]
  /** tests with a synthetic registry: the Redis lock's key prefix, instead of the one Dify at hand would use (lock.ts difyLockPrefix) */
  lockKeyPrefix?: string
}

export interface UpgradeOptions extends TargetOptions {
  dryRun?: boolean
  /** skip the pre-flight schema check (tests of the runner itself) */
  skipSchemaCheck?: boolean
  noWait?: boolean
  /** how long to wait for a held lock (default 600 s) */
  timeoutMs?: number
  lockTimeoutMs?: number
  statementTimeoutMs?: number
  onEvent?: (e: RunEvent) => void
  /** internal/test: Redis lock TTL and renewal period */
  redisLock?: RedisLockOptions
  /** polling period while waiting for a lock */
  pollMs?: number
  /** aborted (SIGINT): stop waiting, or stop after the current revision, release the locks, exit 130 */
  signal?: AbortSignal
  /** test hook, passed to the runner (RunOptions.afterStatement) */
  afterStatement?: (revision: string, index: number) => void
}

export const DEFAULTS = { timeoutMs: 600_000, lockTimeoutMs: 10_000, statementTimeoutMs: 0, pollMs: 500 } as const

export interface PendingRevision {
  revision: string
  release: string
  description: string
  /** --dry-run and db status only: existing tables it touches, their estimated rows and the lock taken (impact.ts) */
  tables?: TableImpact[]
  /** --dry-run and db status only: the rows the revision will change, when it declares a preview */
  preview?: RevisionPreviewResult
}

export interface UpgradeResult {
  /** upgraded: revisions were applied; up-to-date: nothing to do; dry-run: nothing written */
  status: 'upgraded' | 'up-to-date' | 'dry-run'
  database: string
  dialect: SqlDialect
  transactionalDdl: boolean
  from: string | null
  fromRelease: string | null
  /** alembic_version after the run */
  to: string | null
  target: Target
  pending: PendingRevision[]
  applied: AppliedRevision[]
  /** another run finished the work while this one waited for the lock */
  completedByOther: boolean
  waitedMs: number
  locks: { redis: 'acquired' | 'unavailable' | 'not-taken'; database: 'acquired' | 'not-needed' | 'not-taken' }
  lockHolder?: { held: boolean; ttlMs: number | null } | null
  /** --dry-run: rows the pending revisions delete, move or rewrite; the schema check at the current revision */
  dataEffects?: PendingDataEffect[]
  schema?: SchemaCheck
}

/** The chain of a registry: the CLI's own (steps + BASELINE) unless a test passes its own revisions. */
export function chainOf(revisions?: Revision[]): Chain {
  try {
    return revisions ? buildChain(revisions) : buildChain(REVISION_LIST, BASELINE)
  } catch (e) {
    if (e instanceof RegistryError)
      throw new DifyOpsError(`This dify-ops build has a broken revision registry: ${e.message}.`, {
        hint: 'Report this as a bug.',
      })
    throw e
  }
}

const pendingOf = (p: Plan): PendingRevision[] =>
  p.pending.map((r) => ({ revision: r.revision, release: r.release, description: r.description }))

/** The pending revisions with their impact on the existing tables and their previews (reads only). */
export async function pendingWithImpact(db: Db, plan: Plan, state: DbState): Promise<PendingRevision[]> {
  const impact = await planImpact(db, plan.pending, state.otherTables)
  return pendingOf(plan).map((p) => {
    const i = impact.find((x) => x.revision === p.revision)
    return i ? { ...p, tables: i.tables, ...(i.preview ? { preview: i.preview } : {}) } : p
  })
}
const releaseLabel = (rev: string | null) =>
  rev ? (releaseOfRevision(rev).known ? releaseOfRevision(rev).description : null) : null
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** `dify db upgrade`: plan, lock, re-plan, apply, release. */
export async function upgradeDb(deps: UpgradeDeps, opts: UpgradeOptions = {}): Promise<UpgradeResult> {
  mark('upgradeDb')
  const chain = chainOf(deps.revisions)
  const target = resolveTarget(chain, opts)
  mark('target resolved')
  const db = await deps.db()
  mark('connected')
  let state = await readDbState(db)
  mark('state read')
  let plan = makePlan(chain, state, target, db.dialect)
  mark('planned')
  const base = {
    database: db.describe,
    dialect: db.dialect,
    transactionalDdl: db.transactionalDdl,
    target,
  }
  if (plan.problem) throw plan.problem
  const from = plan.current
  if (opts.dryRun) {
    let lockHolder: UpgradeResult['lockHolder'] = null
    if (deps.redis) {
      try {
        const r = await deps.redis()
        lockHolder = await inspectRedisLock(r.client, deps.lockKeyPrefix ?? difyLockPrefix(r.keyPrefix, target))
      } catch {
        opts.onEvent?.({ type: 'warn', message: 'Redis is not reachable: the lock holder is unknown.' })
      }
    }
    const dataEffects = await pendingDataEffects(db, plan.pending)
    const schema = await checkSchema(db, plan.current)
    return {
      ...base,
      status: 'dry-run',
      from,
      fromRelease: releaseLabel(from),
      to: from,
      pending: await pendingWithImpact(db, plan, state),
      applied: [],
      completedByOther: false,
      waitedMs: 0,
      locks: { redis: 'not-taken', database: 'not-taken' },
      lockHolder,
      dataEffects,
      schema,
    }
  }
  if (plan.pending.length === 0) {
    return {
      ...base,
      status: 'up-to-date',
      from,
      fromRelease: releaseLabel(from),
      to: from,
      pending: [],
      applied: [],
      completedByOther: false,
      waitedMs: 0,
      locks: { redis: 'not-taken', database: 'not-taken' },
    }
  }

  // The pre-flight only reads: on a server connection of its own it starts now and runs beside the locks and the
  // first transaction, and nothing commits before its verdict (runner.ts `preflight`). It is judged again under the locks
  // when the version moved meanwhile or the run waited. PGlite has one connection: there it runs alone, as before.
  const checking = !deps.revisions && !opts.skipSchemaCheck
  const lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs
  const beside = checking && db.type !== 'pglite'
  const besideLockMs = Math.min(lockTimeoutMs || BESIDE_LOCK_MS, BESIDE_LOCK_MS)
  const early = beside ? besideRun(db, plan, besideLockMs) : undefined
  const earlyFrom = plan.current
  // a pre-flight beside the run holds a pool connection until it has compared (the lock's session needs another:
  // the CLI's pool has four): let it finish however this run ends
  const besides = early ? [early] : []
  try {
    // the expected schema (a large generated module, parsed once) loads while Redis connects
    if (checking && !beside) void loadSchemaFacts(db.dialect).catch(() => {})
    const timeoutMs = opts.timeoutMs ?? DEFAULTS.timeoutMs
    const pollMs = opts.pollMs ?? DEFAULTS.pollMs
    const t0 = Date.now()
    const deadline = t0 + timeoutMs
    let redisLock: RedisUpgradeLock | undefined
    let redisState: UpgradeResult['locks']['redis'] = 'unavailable'
    if (deps.redis) {
      try {
        const r = await deps.redis()
        const lockPrefix = deps.lockKeyPrefix ?? difyLockPrefix(r.keyPrefix, target)
        redisLock = new RedisUpgradeLock(r.client, lockPrefix, opts.redisLock)
        while (!(await redisLock.tryAcquire())) {
          if (opts.signal?.aborted) throw interrupted()
          const holder = await inspectRedisLock(r.client, lockPrefix)
          if (opts.noWait || Date.now() >= deadline)
            throw busy("Dify's Redis lock " + redisLock.key, holder.ttlMs, opts.noWait, timeoutMs)
          opts.onEvent?.({ type: 'wait', lock: 'redis', ttlMs: holder.ttlMs, waitedMs: Date.now() - t0 })
          await sleep(pollMs)
        }
        redisState = 'acquired'
        mark('redis lock')
      } catch (e) {
        if (e instanceof BusyError || e instanceof InterruptedError) throw e
        redisLock = undefined
        opts.onEvent?.({
          type: 'warn',
          message: `Redis is not reachable (${(e as Error).message.replace(/\.$/, '')}): continuing with the database lock only; a Dify container migrating at the same time would not be seen.`,
        })
      }
    }
    const dbLock = new DbUpgradeLock(db, deps.database)
    try {
      while (!(await dbLock.tryAcquire())) {
        if (opts.signal?.aborted) throw interrupted()
        if (opts.noWait || Date.now() >= deadline)
          throw busy(`the database lock (${dbLock.kind})`, null, opts.noWait, timeoutMs)
        opts.onEvent?.({ type: 'wait', lock: 'database', ttlMs: null, waitedMs: Date.now() - t0 })
        await sleep(pollMs)
      }
      mark('database lock')
      const waitedMs = Date.now() - t0
      const waited = waitedMs > pollMs
      // from here on, everything runs on the lock's session (lock.ts session())
      const work = dbLock.session()
      // re-read: another run may have finished (or moved) the database while we waited (only alembic_version
      // can have changed when it existed; an empty database is read again in full)
      state = state.versions === null ? await readDbState(work) : { ...state, versions: await readVersions(work) }
      plan = makePlan(chain, state, target, db.dialect)
      if (plan.problem) throw plan.problem
      mark('re-planned')
      const locks = {
        redis: redisState,
        database: dbLock.kind === 'none' ? ('not-needed' as const) : ('acquired' as const),
      }
      if (plan.pending.length === 0) {
        return {
          ...base,
          status: 'up-to-date',
          from: plan.current,
          fromRelease: releaseLabel(plan.current),
          to: plan.current,
          pending: [],
          applied: [],
          completedByOther: waited || plan.current !== from,
          waitedMs,
          locks,
        }
      }
      // a half-applied earlier upgrade (schema ≠ alembic_version) is refused with the safe fix (health.ts)
      const judge = (v: PreflightVerdict, alone: boolean) => {
        // beside the run, a lock wait may be on the run's own first transaction: judge it again, alone
        if (v.locked && !alone) throw new RunAlone()
        for (const message of v.warnings) opts.onEvent?.({ type: 'warn', message })
        mark('preflight')
        if (v.refusal) throw v.refusal
      }
      const runOpts = {
        lockTimeoutMs,
        statementTimeoutMs: opts.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs,
        onEvent: opts.onEvent,
        interrupted: () => opts.signal?.aborted === true,
        afterStatement: opts.afterStatement,
        shouldStop: () =>
          redisLock?.lost
            ? `Dify's Redis lock ${redisLock.key} was lost (it expired or someone deleted it), so another upgrade could start`
            : undefined,
      }
      let applied: AppliedRevision[]
      if (!beside) {
        if (checking) judge(await preflightVerdict(work, plan, lockTimeoutMs), true)
        applied = await runPlan(work, plan, state, runOpts)
      } else {
        const p = early && !waited && plan.current === earlyFrom ? early : besideRun(db, plan, besideLockMs)
        if (p !== early) besides.push(p)
        const preflight = { read: p.read, verdict: quiet(p.verdict.then((v) => judge(v, false))), go: p.go }
        try {
          applied = await runPlan(work, plan, state, { ...runOpts, preflight })
        } catch (e) {
          if (!(e instanceof RunAlone)) throw e
          // nothing was committed (the runner waits for the verdict before any COMMIT)
          judge(await preflightVerdict(work, plan, lockTimeoutMs), true)
          applied = await runPlan(work, plan, state, runOpts)
        }
      }
      mark('applied')
      return {
        ...base,
        status: 'upgraded',
        from: plan.current,
        fromRelease: releaseLabel(plan.current),
        to: applied[applied.length - 1]!.revision,
        pending: pendingOf(plan),
        applied,
        completedByOther: false,
        waitedMs,
        locks,
      }
    } finally {
      await dbLock.release()
      if (redisLock && redisState === 'acquired') await redisLock.release()
      mark('locks released')
    }
  } finally {
    for (const b of besides) b.go()
  }
}

/** How long the pre-flight beside the run waits for a table lock before it is judged again, alone, under the locks. */
const BESIDE_LOCK_MS = 1000

/** The pre-flight beside the run met a lock: judge it again, alone (nothing was committed). */
class RunAlone extends Error {}

/**
 * The pre-flight started beside the run: `read` once its catalog reads are done (or it ended), its verdict, and `go`,
 * which lets it load the expected schema and compare (that work waits, so as not to hold up the locks and the first
 * transaction; upgradeDb calls it at the latest when it ends).
 */
function besideRun(
  db: Db,
  plan: Plan,
  lockTimeoutMs: number,
): { read: Promise<void>; verdict: Promise<PreflightVerdict>; go: () => void } {
  let done!: () => void
  let go!: () => void
  const read = new Promise<void>((r) => (done = r))
  const going = new Promise<void>((r) => (go = r))
  const verdict = quiet(
    preflightVerdict(db, plan, lockTimeoutMs, () => {
      done()
      return going
    }),
  )
  verdict.then(done, done)
  return { read, verdict, go }
}

/** A promise awaited later: its rejection is not reported as unhandled meanwhile. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {})
  return p
}

const interrupted = () => new InterruptedError('Interrupted while waiting for the upgrade lock; nothing was changed.')

function busy(what: string, ttlMs: number | null, noWait: boolean | undefined, timeoutMs: number): BusyError {
  const ttl = ttlMs !== null ? ` (it expires in ${Math.ceil(ttlMs / 1000)} s unless renewed)` : ''
  return new BusyError(
    noWait
      ? `Another upgrade holds ${what}${ttl}; not waiting (--no-wait).`
      : `Gave up after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${ttl}.`,
    {
      hint: 'Let the running upgrade finish (dify db status shows the holder), raise --timeout, or if no upgrade is running, clear a stale lock with dify db lock clear.',
      details: { lock: what, ttlMs },
    },
  )
}

export interface SqlOptions extends TargetOptions {
  /** the revision the script starts from: "base" for an empty database; unset = read it from the database */
  from?: string
  dialect: SqlDialect
  lockTimeoutMs?: number
  statementTimeoutMs?: number
}

export interface SqlResult {
  dialect: SqlDialect
  from: string | null
  /** where `from` came from */
  fromSource: 'flag' | 'database'
  target: Target
  pending: PendingRevision[]
  sql: string
}

/** `dify db upgrade --sql`: the script that would run, without writing (and without connecting when --from is given). */
export async function upgradeSql(deps: Pick<UpgradeDeps, 'db' | 'revisions'>, opts: SqlOptions): Promise<SqlResult> {
  const chain = chainOf(deps.revisions)
  const target = resolveTarget(chain, opts)
  let state: DbState
  let fromSource: SqlResult['fromSource'] = 'flag'
  if (opts.from !== undefined) {
    const f = opts.from.trim().toLowerCase()
    state =
      f === 'base'
        ? { versions: null, otherTables: [] }
        : { versions: [resolveRevisionArg(chain, f, '--from')], otherTables: [] }
  } else {
    fromSource = 'database'
    const db = await deps.db()
    if (db.dialect !== opts.dialect) throw new ConfigError('Internal: dialect mismatch.')
    state = await readDbState(db)
  }
  const plan = makePlan(chain, state, target, opts.dialect)
  if (plan.problem) throw plan.problem
  const sql = planSql(plan, opts.dialect, {
    createVersionTable: state.versions === null,
    lockTimeoutMs: opts.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
    statementTimeoutMs: opts.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs,
  })
  return { dialect: opts.dialect, from: plan.current, fromSource, target, pending: pendingOf(plan), sql }
}
