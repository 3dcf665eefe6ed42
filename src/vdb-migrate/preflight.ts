import type { Db } from '../core/db.js'
import { priorityListKey, PRIORITY_STEPS } from '../dify/queues.js'

/** Documents still being indexed (status neither completed, error nor paused) in these datasets. */
export async function indexingDocuments(db: Db, datasetIds: string[]): Promise<number> {
  let n = 0
  for (let i = 0; i < datasetIds.length; i += 500) {
    const r = await db.kysely
      .selectFrom('documents')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('dataset_id', 'in', datasetIds.slice(i, i + 500))
      .where('indexing_status', 'not in', ['completed', 'error', 'paused'])
      .executeTakeFirst()
    n += Number(r?.n ?? 0)
  }
  return n
}

/** Queues whose tasks write vectors of datasets (Celery lists in the broker, every priority step). */
export const DATASET_QUEUES = ['dataset', 'priority_dataset'] as const

export async function datasetQueueLengths(broker: {
  client: { llen(key: string): Promise<number> }
  keyPrefix: string
}): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const q of DATASET_QUEUES) {
    let n = 0
    for (const p of PRIORITY_STEPS) n += await broker.client.llen(broker.keyPrefix + priorityListKey(q, p))
    out[q] = n
  }
  return out
}
