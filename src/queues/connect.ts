/** Wiring between the Runtime and the queue domain: the broker handle and the queue list in use. */
import type { Redis } from 'ioredis'
import type { Runtime } from '../runtime/index.js'
import { WORKER_QUEUES_1_12 } from '../dify/queues.js'
import type { Broker } from './broker.js'

export async function brokerOf(rt: Runtime): Promise<Broker> {
  const opened = await rt.broker()
  return { client: opened.client as Redis, prefix: opened.keyPrefix, db: rt.config.broker?.db ?? 0 }
}

export interface ExpectedQueues {
  queues: readonly string[]
  /** CELERY_QUEUES: the override; database: the connected release's list; fallback: the newest list */
  source: 'CELERY_QUEUES' | 'database' | 'fallback'
  /** the Dify version the database implies, when read */
  version: string | null
  /** why the fallback was used */
  note: string | null
}

/**
 * The queues the Dify worker consumes: CELERY_QUEUES when set (as Dify's entrypoint), else the list of the release
 * the metadata database is at (profile.workerQueues), else the newest list when no database is reachable.
 */
export async function expectedQueues(rt: Runtime): Promise<ExpectedQueues> {
  if (rt.config.celeryQueues?.length) return { queues: rt.config.celeryQueues, source: 'CELERY_QUEUES', version: null, note: null }
  const fallback = (note: string): ExpectedQueues => ({ queues: WORKER_QUEUES_1_12, source: 'fallback', version: null, note })
  if (rt.config.db.embedded) return fallback('no metadata database is configured (DB_* unset): using the newest worker queue list')
  try {
    // loaded here, not at the top: only list and task need it, and it brings kysely and the Alembic chain
    const { loadProfile } = await import('../dify/schema-version.js')
    const profile = await loadProfile(await rt.db())
    if (!profile.revision) return fallback('the metadata database has no Dify schema: using the newest worker queue list')
    return { queues: profile.workerQueues, source: 'database', version: profile.version, note: null }
  } catch {
    return fallback('the metadata database is not reachable: using the newest worker queue list')
  }
}
