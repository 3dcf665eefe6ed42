import { randomBytes } from 'node:crypto'
import { keysMatch } from '../crypto/tenant-key.js'
import { sql } from 'kysely'
import type { Runtime } from '../runtime/index.js'
import { ConfigError, ConnectError, ExitCode, isDifyOpsError } from '../core/errors.js'
import { codeAtHand, readAlembicVersions } from '../dify/schema-version.js'
import { REVISIONS } from '../dify/releases.js'
import { profileFor, SUPPORTED_WINDOW_TEXT } from '../dify/profile.js'
import { privateKeyPath } from '../dify/keys.js'
import { brokerOf, workerQueuesFor } from '../queues/deps.js'
import { resolveSecretKey, secretKeySourceText } from '../dify/secret-key.js'
import { listQueues } from '../queues/list.js'
import { openVectorStore, requireSupportedStore } from '../vector/index.js'
import type { VectorStore } from '../vector/store.js'

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip'

export interface CheckResult {
  name: string
  status: CheckStatus
  summary: string
  hint?: string
  /** unreachable service (exit 5) rather than a problem found (exit 8) */
  unreachable?: boolean
  /** a configuration or precondition problem (exit 4) */
  config?: boolean
  details?: Record<string, unknown>
  durationMs: number
}

export interface DoctorReport {
  checks: CheckResult[]
  database: { revision: string | null; release: string | null; supported: boolean } | null
  ok: boolean
  exitCode: number
}

type CheckFn = () => Promise<Omit<CheckResult, 'name' | 'durationMs'>>

/** Run one check under its own time limit, so one dead service does not stall the rest. */
async function timed(name: string, limitMs: number, fn: CheckFn): Promise<CheckResult> {
  const t0 = Date.now()
  let timer: NodeJS.Timeout | undefined
  try {
    const r = await Promise.race([
      fn(),
      new Promise<never>((_, rej) => {
        timer = setTimeout(
          () => rej(new ConnectError(`${name}: no answer within ${Math.round(limitMs / 1000)} s`)),
          limitMs,
        )
      }),
    ])
    return { name, ...r, durationMs: Date.now() - t0 }
  } catch (e) {
    const unreachable = e instanceof ConnectError
    return {
      name,
      status: 'fail',
      summary: isDifyOpsError(e) ? e.message : `unexpected error: ${(e as Error).message}`,
      hint: isDifyOpsError(e) ? e.hint : undefined,
      unreachable,
      ...(e instanceof ConfigError ? { config: true } : {}),
      durationMs: Date.now() - t0,
    }
  } finally {
    if (timer) clearTimeout(timer)
  }
}

export interface DoctorOptions {
  /** per-connection check limit */
  limitMs?: number
}

export async function runDoctor(rt: Runtime, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const limit = opts.limitMs ?? Math.max(rt.config.connectTimeoutMs + 500, 3000)
  const cfg = rt.config
  const checks: CheckResult[] = [configurationCheck(rt)]
  let database: DoctorReport['database'] = null
  let profile = profileFor(null)

  // the embedded PGlite is local but slow to initialise on first use
  const dbCheck = timed('metadata database', cfg.db.type === 'pglite' ? Math.max(limit, 60_000) : limit, async () => {
    const db = await rt.db()
    const version =
      db.dialect === 'postgres'
        ? ((await sql<{ v: string }>`select version() as v`.execute(db.kysely)).rows[0]?.v ?? '')
        : ((await sql<{ v: string }>`select version() as v`.execute(db.kysely)).rows[0]?.v ?? '')
    const versions = await readAlembicVersions(db)
    const server = version.split(' on ')[0]!.replace(/,.*$/, '')
    if (!versions || versions.length === 0) {
      database = { revision: null, release: null, supported: false }
      return {
        status: 'warn',
        summary: `${db.describe}: ${server}; no Dify schema yet (no alembic_version)`,
        hint: 'Create it with dify upgrade-db.',
        details: { server },
      }
    }
    if (versions.length > 1) {
      database = { revision: versions.join(','), release: null, supported: false }
      return {
        status: 'fail',
        summary: `${db.describe}: alembic_version holds ${versions.length} rows (${versions.join(', ')}), so the Dify release is unknown`,
        hint: 'An interrupted 0.6-era merge or a hand-edited table; see docs/migrations.md.',
      }
    }
    let code
    try {
      code = REVISIONS.has(versions[0]!) ? undefined : codeAtHand({ difyRoot: cfg.difyRoot })
    } catch {
      code = undefined
    }
    profile = profileFor(versions[0]!, { dialect: db.dialect === 'mysql' ? 'mysql' : 'postgres', code })
    const rel = profile.release!
    database = { revision: versions[0]!, release: rel.release ?? rel.atLeast ?? null, supported: profile.supported }
    const text = `${db.describe}: ${server}; revision ${versions[0]} (${rel.description})`
    if (profile.newerThanKnown) {
      return {
        status: 'warn',
        summary: `${text}; newer than this CLI knows`,
        hint: 'Reads use the facts of Dify 1.15.0; writers run only when what they touch is unchanged (checked per command). upgrade-db cannot help: the database is ahead of this CLI.',
        details: { server, revision: versions[0], status: profile.status },
      }
    }
    if (!profile.supported) {
      return {
        status: 'warn',
        summary: text,
        hint: `Outside the supported ${SUPPORTED_WINDOW_TEXT}: writing commands refuse without --force-version.`,
        details: { server, revision: versions[0], status: profile.status },
      }
    }
    return {
      status: 'ok',
      summary: text,
      details: { server, revision: versions[0], release: rel.release ?? rel.atLeast },
    }
  })

  const redisCheck = timed('redis', limit, async () => {
    const r = await rt.redis()
    const info = await r.client.info()
    const get = (k: string) => new RegExp(`^${k}:(.*)$`, 'm').exec(info)?.[1]?.trim()
    return {
      status: 'ok',
      summary: `${r.describe}: Redis ${get('redis_version')}, memory ${get('used_memory_human')}${r.keyPrefix ? `, key prefix ${r.keyPrefix}` : ''}`,
      details: { version: get('redis_version'), usedMemory: get('used_memory_human') },
    }
  })

  const storageCheck = timed('storage', limit + 2000, async () => {
    const s = await rt.storage()
    const probe = `doctor/probe-${randomBytes(6).toString('hex')}`
    const payload = randomBytes(32)
    await s.write(probe, payload)
    try {
      const back = await s.read(probe)
      if (!back.equals(payload))
        return { status: 'fail', summary: `${s.location}: the probe object read back different bytes` }
    } finally {
      await s.delete(probe)
    }
    return { status: 'ok', summary: `${s.location}: write, read, delete of a probe under doctor/ succeeded` }
  })

  // every store through its adapter (the code path vdb and vdb-migrate use): describe() connects and reads the version
  const stores: VectorStore[] = []
  const vectorCheck = timed('vector store', limit, async () => {
    requireSupportedStore(cfg.vectorStore, 'VECTOR_STORE')
    const store = await openVectorStore(cfg)
    stores.push(store)
    const d = await store.describe()
    return {
      status: 'ok',
      summary: `${d.serverVersion} at ${d.location}`,
      details: { type: d.type, serverVersion: d.serverVersion, location: d.location },
    }
  })

  const [dbR, redisR, storageR, vectorR] = await Promise.all([dbCheck, redisCheck, storageCheck, vectorCheck])
  await Promise.all(stores.map((s) => s.close().catch(() => {})))
  checks.push(dbR, redisR)

  // the live schema against Dify's exact schema at its alembic_version: the one-line result of `dify db verify`
  const at = (database as DoctorReport['database'])?.revision
  if (dbR.status !== 'fail' && at && !at.includes(',')) {
    checks.push(
      await timed('schema', limit + 2000, async () => {
        const { verifySchema } = await import('../migrations/schema/verify.js')
        const v = await verifySchema(await rt.db())
        if (!v.known) return { status: 'skip', summary: `revision ${v.revision} is not in this CLI's schema facts` }
        if (!v.differences.length) return { status: 'ok', summary: `matches Dify's schema at ${v.revision} exactly` }
        return {
          status: 'warn',
          summary: `${v.differences.length} difference(s) from Dify's schema at ${v.revision}`,
          hint: 'See dify db verify, and dify db status for the fix when one is safe.',
          details: { differences: v.differences.length, suggestion: v.suggestion.kind },
        }
      }),
    )
  }

  // broker: depths of the worker queues of the connected release, and queues with messages that no live worker consumes
  checks.push(
    await timed('celery broker', limit + 1500, async () => {
      if (!cfg.broker) return { status: 'skip', summary: 'CELERY_BROKER_URL is not set' }
      const b = await brokerOf(rt)
      const expected = [
        ...workerQueuesFor(profile, {
          celeryQueues: cfg.celeryQueues,
          celeryWorkerQueues: cfg.celeryWorkerQueues,
          edition: cfg.edition,
        }).queues,
      ]
      const snap = await listQueues(b, { expected, workerTimeoutMs: 1000 })
      const busy = snap.queues.filter((q) => q.depth > 0)
      const orphaned = snap.queues.filter((q) => q.noConsumer)
      const depths = Object.fromEntries(snap.queues.map((q) => [q.name, q.depth]))
      const summary = `${(await rt.broker()).describe}: ${snap.queues.length} queues, ${snap.totals.depth} waiting message(s)${busy.length ? ` (${busy.map((q) => `${q.name} ${q.depth}`).join(', ')})` : ''}, ${snap.totals.unacked} unacked, ${snap.workers.nodes.length} live worker(s)`
      const details = {
        depths,
        unacked: snap.totals.unacked,
        workers: snap.workers.nodes,
        noConsumer: orphaned.map((q) => q.name),
      }
      if (orphaned.length) {
        return {
          status: 'fail',
          summary: `${summary}; no consumer for ${orphaned.map((q) => q.name).join(', ')}`,
          hint: 'Start a Dify worker that consumes these queues (CELERY_QUEUES), or look with dify queue list / dify queue workers.',
          details,
        }
      }
      // nothing waits yet, but nothing would be consumed either: new documents would sit in "Queuing"
      const unconsumed = snap.queues
        .filter((q) => q.expected && q.consumers !== null && q.consumers.length === 0)
        .map((q) => q.name)
      if (snap.workers.nodes.length === 0 || unconsumed.length) {
        return {
          status: 'warn',
          summary:
            snap.workers.nodes.length === 0
              ? `${summary}: no live worker`
              : `${summary}; no live consumer for ${unconsumed.join(', ')}`,
          hint: 'Documents and other tasks will wait in these queues ("Queuing") until a Dify worker consumes them: start one (dify queue workers shows who is alive).',
          details: { ...details, unconsumed },
        }
      }
      return { status: 'ok', summary, details }
    }),
  )
  checks.push(storageR, vectorR)

  // SECRET_KEY: where it comes from (never its value); from Dify 1.14.1 an empty one is kept in storage
  checks.push(
    await timed('secret key', limit, async () => {
      const known =
        database !== null &&
        (database as { revision: string | null }).revision !== null &&
        profile.release?.known !== false
      const { info } = await resolveSecretKey(cfg, {
        fromStorage: known || profile.newerThanKnown ? profile.secretKeyFromStorage : null,
        storage: () => rt.storage(),
      })
      const summary = `SECRET_KEY ${secretKeySourceText(info)}`
      if (info.source !== 'missing') return { status: 'ok', summary, details: { source: info.source, from: info.from } }
      return {
        status: 'warn',
        summary,
        hint: info.generatedByDify
          ? 'Dify will generate and store a key at its next start; set SECRET_KEY to keep sessions across storage resets.'
          : 'Set SECRET_KEY (openssl rand -base64 42) for dify-api, the worker and dify-ops alike.',
        details: { source: info.source, from: info.from },
      }
    }),
  )

  // tenant keys: needs the database and the storage
  checks.push(
    await timed('tenant keys', limit * 3, async () => {
      if (dbR.status === 'fail' || storageR.status === 'fail')
        return { status: 'skip', summary: 'needs the database and the storage' }
      if (!database || !(database as { revision: string | null }).revision)
        return { status: 'skip', summary: 'no Dify schema' }
      const db = await rt.db()
      const s = await rt.storage()
      const tenants = await db.kysely.selectFrom('tenants').select(['id', 'encrypt_public_key']).execute()
      const problems: Array<{ tenantId: string; problem: string }> = []
      let ok = 0
      for (const t of tenants) {
        if (!t.encrypt_public_key) {
          problems.push({ tenantId: t.id, problem: 'no public key in tenants.encrypt_public_key' })
          continue
        }
        const pem = await s.readIfExists(privateKeyPath(t.id))
        if (!pem) {
          problems.push({ tenantId: t.id, problem: `no private key at ${privateKeyPath(t.id)}` })
          continue
        }
        try {
          if (keysMatch(pem, t.encrypt_public_key)) ok++
          else problems.push({ tenantId: t.id, problem: 'private key does not match the public key' })
        } catch {
          problems.push({ tenantId: t.id, problem: 'private key does not parse' })
        }
      }
      if (problems.length === 0)
        return { status: 'ok', summary: `${ok} tenant(s): every private key exists and matches its public key` }
      return {
        status: 'fail',
        summary: `${problems.length} of ${tenants.length} tenant(s) have key problems (first: ${problems[0]!.tenantId}: ${problems[0]!.problem})`,
        hint: 'Run dify encryption check for details; restore the key from a backup or reset it (dify reset-encrypt-key-pair --tenant ID).',
        details: { problems: problems.slice(0, 50) },
      }
    }),
  )

  const failed = checks.filter((c) => c.status === 'fail')
  const exitCode = failed.some((c) => c.config)
    ? ExitCode.config
    : failed.some((c) => c.unreachable)
      ? ExitCode.connect
      : failed.length
        ? ExitCode.problems
        : ExitCode.ok
  return { checks, database, ok: failed.length === 0, exitCode }
}

/** What the configuration says, and what of it dify-ops cannot use (a failure here is exit 4). */
function configurationCheck(rt: Runtime): CheckResult {
  const cfg = rt.config
  const summary = `database ${cfg.db.type}${cfg.db.embedded ? ' embedded default' : ''}, storage ${cfg.storage.location}, vector store ${cfg.vectorStore}, edition ${cfg.edition}`
  try {
    requireSupportedStore(cfg.vectorStore, 'VECTOR_STORE')
  } catch (e) {
    const c = e as ConfigError
    return {
      name: 'configuration',
      status: 'fail',
      summary: `${c.message} (${summary})`,
      hint: c.hint,
      config: true,
      durationMs: 0,
    }
  }
  return { name: 'configuration', status: 'ok', summary: `valid (${summary})`, durationMs: 0 }
}

/** The report when the configuration itself is invalid (exit 4). */
export function configFailureReport(e: ConfigError): DoctorReport {
  return {
    checks: [{ name: 'configuration', status: 'fail', summary: e.message, hint: e.hint, durationMs: 0 }],
    database: null,
    ok: false,
    exitCode: ExitCode.config,
  }
}
