/** Wiring between the Runtime and the queue domain: the broker handle (brokerOf) and the queue list in use. */
import type { Redis } from 'ioredis'
import type { Runtime } from '../runtime/index.js'
import { WORKER_QUEUES_NEWEST } from '../dify/queues.js'
import type { DifyProfile } from '../dify/profile.js'
import type { Broker } from './broker.js'

export async function brokerOf(rt: Runtime): Promise<Broker> {
  const opened = await rt.broker()
  return { client: opened.client as Redis, prefix: opened.keyPrefix, db: rt.config.broker?.db ?? 0 }
}

export interface ExpectedQueues {
  queues: readonly string[]
  /**
   * CELERY_WORKER_QUEUES / CELERY_QUEUES: the overrides; database: the connected release's default list (the
   * EDITION's); fallback: the newest list
   */
  source: 'CELERY_WORKER_QUEUES' | 'CELERY_QUEUES' | 'database' | 'fallback'
  /** the Dify version the database implies, when read */
  version: string | null
  /** why the fallback was used, or a variable the release ignores */
  note: string | null
}

export interface QueueVariables {
  celeryQueues?: readonly string[]
  celeryWorkerQueues?: readonly string[]
  edition?: string
}

/**
 * The worker's queue list as the dify-api entrypoint of the profile's release decides it (api/docker/entrypoint.sh):
 * - before 1.10.0: `-Q ${CELERY_QUEUES:-<default>}`;
 * - from 1.10.0: CELERY_QUEUES, else the EDITION's DEFAULT_QUEUES; then CELERY_WORKER_QUEUES, when set, wins.
 * An empty variable counts as unset (bash `:-` and `-z`/`-n`).
 */
export function workerQueuesFor(profile: DifyProfile, v: QueueVariables): ExpectedQueues {
  const version = profile.version
  if (profile.celeryWorkerQueuesVariable && v.celeryWorkerQueues?.length) {
    return { queues: v.celeryWorkerQueues, source: 'CELERY_WORKER_QUEUES', version, note: null }
  }
  const ignored =
    !profile.celeryWorkerQueuesVariable && v.celeryWorkerQueues?.length
      ? `CELERY_WORKER_QUEUES is set but the entrypoint of Dify ${version ?? 'at this revision'} does not read it (from 1.10.0 only)`
      : null
  if (v.celeryQueues?.length) return { queues: v.celeryQueues, source: 'CELERY_QUEUES', version, note: ignored }
  const queues = v.edition === 'CLOUD' ? profile.workerQueuesCloud : profile.workerQueues
  return { queues, source: 'database', version, note: ignored }
}

/**
 * The queues the Dify worker consumes: the overrides (CELERY_WORKER_QUEUES, CELERY_QUEUES) as the connected
 * release's entrypoint reads them, else the release's list (profile.workerQueues), else the newest list when no
 * database is reachable.
 */
export async function expectedQueues(rt: Runtime): Promise<ExpectedQueues> {
  const vars: QueueVariables = {
    celeryQueues: rt.config.celeryQueues,
    celeryWorkerQueues: rt.config.celeryWorkerQueues,
    edition: rt.config.edition,
  }
  const fallback = (note: string): ExpectedQueues => {
    const over = vars.celeryWorkerQueues?.length
      ? 'CELERY_WORKER_QUEUES'
      : vars.celeryQueues?.length
        ? 'CELERY_QUEUES'
        : null
    if (over)
      return {
        queues: (over === 'CELERY_WORKER_QUEUES' ? vars.celeryWorkerQueues : vars.celeryQueues)!,
        source: over,
        version: null,
        note: null,
      }
    return { queues: WORKER_QUEUES_NEWEST, source: 'fallback', version: null, note }
  }
  if (rt.config.db.embedded)
    return fallback('no metadata database is configured (DB_* unset): using the newest worker queue list')
  try {
    // loaded here, not at the top: only list and task need it, and it brings kysely and the Alembic chain
    const { loadProfile } = await import('../dify/schema-version.js')
    const profile = await loadProfile(await rt.db(), { difyRoot: rt.config.difyRoot })
    if (!profile.revision)
      return fallback('the metadata database has no Dify schema: using the newest worker queue list')
    if (profile.status === 'unknown' || profile.status === 'older') {
      const f = fallback(
        `the metadata database is at revision ${profile.revision}, outside the releases this CLI knows: using the newest worker queue list`,
      )
      if (f.source === 'fallback') return f
    }
    const r = workerQueuesFor(profile, vars)
    if (profile.newerThanKnown && r.source === 'database') {
      return {
        ...r,
        note: `the metadata database is newer than this CLI knows: using the worker queue list of Dify 1.15.0`,
      }
    }
    return r
  } catch {
    return fallback('the metadata database is not reachable: using the newest worker queue list')
  }
}
