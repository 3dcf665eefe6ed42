import type { Config } from '../config/schema.js'
import { loadConfig } from '../config/schema.js'
import { BusyError, UsageError } from '../core/errors.js'
import { openVectorStore } from '../vector/index.js'
import { storeLabel, type OpenOptions } from '../vector/store.js'
import type { Db } from '../core/db.js'
import type { OpenedStore, Unit } from './types.js'
import { datasetQueueLengths, indexingDocuments } from './preflight.js'

export async function openStore(
  config: Config,
  type: string | undefined,
  redis?: { client: { del(...k: string[]): Promise<number> }; keyPrefix: string },
  release: OpenOptions = {},
): Promise<OpenedStore> {
  const store = await openVectorStore(config, { type, redis, ...release })
  try {
    const d = await store.describe()
    return { store, key: storeLabel(d), location: d.location, serverVersion: d.serverVersion }
  } catch (e) {
    // an unreachable store: its client (pool, sockets) must not keep the process alive
    await store.close().catch(() => {})
    throw e
  }
}

/**
 * Opens source stores on demand, once per type: with `--source-env-file`, that file alone gives the store's
 * settings (the process environment describes the target); otherwise the same variables as the target.
 */
export function sourceOpener(
  config: Config,
  sourceEnvFile?: string,
  release: OpenOptions = {},
): { open(type: string): Promise<OpenedStore>; opened: OpenedStore[]; close(): Promise<void> } {
  const cache = new Map<string, Promise<OpenedStore>>()
  const opened: OpenedStore[] = []
  const cfg = sourceEnvFile ? loadConfig({ envFile: sourceEnvFile, env: {}, noDotenv: true }) : config
  return {
    opened,
    open(type) {
      let p = cache.get(type)
      if (!p) {
        p = openStore(cfg, type, undefined, release).then((s) => (opened.push(s), s))
        cache.set(type, p)
      }
      return p
    },
    async close() {
      for (const p of cache.values()) await p.then((s) => s.store.close()).catch(() => {})
    },
  }
}

export interface PreflightResult {
  indexingDocuments: number
  datasetQueues: Record<string, number> | null
  warnings: string[]
}

/** Refuses (exit 6) while the selected datasets are being indexed or dataset tasks are queued, unless forced. */
export async function preflight(
  db: Db,
  units: Unit[],
  broker: (() => Promise<{ client: { llen(key: string): Promise<number> }; keyPrefix: string }>) | null,
  opts: { force: boolean; dryRun: boolean },
): Promise<PreflightResult> {
  const warnings: string[] = []
  const ids = units.filter((u) => u.kind === 'dataset').map((u) => u.id)
  const indexing = ids.length ? await indexingDocuments(db, ids) : 0
  let queues: Record<string, number> | null = null
  if (broker) {
    try {
      queues = await datasetQueueLengths(await broker())
    } catch (e) {
      warnings.push(`could not read the dataset queues: ${(e as Error).message}`)
    }
  }
  const queued = queues ? Object.values(queues).reduce((a, b) => a + b, 0) : 0
  const problems: string[] = []
  if (indexing) problems.push(`${indexing} document(s) of the selected datasets are still being indexed`)
  if (queued)
    problems.push(
      `${queued} task(s) wait in the dataset queues (${Object.entries(queues!)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    )
  if (problems.length && !opts.force && !opts.dryRun) {
    throw new BusyError(`Not migrating while Dify is indexing: ${problems.join('; ')}.`, {
      hint: 'Stop the worker or wait for indexing to finish, then rerun; --force migrates anyway (vectors written meanwhile may be missed).',
      details: { indexingDocuments: indexing, datasetQueues: queues },
    })
  }
  warnings.push(...problems)
  return { indexingDocuments: indexing, datasetQueues: queues, warnings }
}

export function checkFlags(f: { from?: string; 'source-env-file'?: string; shard?: string }, shard: unknown): void {
  if (f['source-env-file'] && !f.from)
    throw new UsageError('--source-env-file needs --from TYPE.', {
      hint: 'Name the source store type, e.g. --from pgvector.',
    })
  if (f.shard !== undefined && !shard)
    throw new UsageError(`--shard ${f.shard} is not of the form i/n with 0 ≤ i < n.`, {
      hint: 'E.g. --shard 0/4 … --shard 3/4.',
    })
}
