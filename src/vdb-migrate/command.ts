import type { Runtime } from '../runtime/index.js'
import type { Db } from '../core/db.js'
import { difyTextHash, lookupEmbeddings } from '../dify/embedding-cache.js'
import type { DifyProfile } from '../dify/profile.js'
import { liveSetDeps, type LiveSetDeps } from '../dify/live-set.js'
import { DEFAULT_VECTOR_INDEX_NAME_PREFIX } from '../dify/collections.js'
import { storeOptionsFor } from '../vector/index.js'
import { CheckpointStore, RedisCheckpointStore, type CheckpointRedis } from './checkpoint.js'
import { openStore, preflight, sourceOpener } from './prepare.js'
import { stderrProgress } from './progress.js'
import { runUnits, type MigrateResult } from './index.js'
import { liveSetPort, selectUnits } from './select.js'
import type { Deps, EmbeddingCachePort, MigrateOptions, Unit } from './types.js'

export { parseShard } from './select.js'

/** The `--json` shape of `dify vdb-migrate` (docs/vdb-migrate.md). */
export interface VdbMigrateJson extends MigrateResult {
  database: { location: string; revision: string | null; release: string | null }
  target: { type: string; location: string; serverVersion: string }
  sources: Array<{ type: string; location: string; serverVersion: string }>
  preflight: { indexingDocuments: number; datasetQueues: Record<string, number> | null }
  warnings: string[]
}

export interface RunOptions extends Omit<MigrateOptions, 'shard'> {
  shard: MigrateOptions['shard'] | null
  sourceEnvFile?: string
  deleteSource: boolean
  /** where checkpoints live: the table in the metadata database (default) or the app-cache Redis */
  checkpoint?: 'db' | 'redis'
}

export interface RunHooks {
  signal: AbortSignal
  writeErr(s: string): void
  interactive: boolean
  confirmDeleteSource(u: Unit, where: string): Promise<boolean>
  /** called after the pre-flight, before anything is written */
  onStart?(info: {
    database: VdbMigrateJson['database']
    target: VdbMigrateJson['target']
    units: number
    warnings: string[]
  }): void
}

/** The embedding cache port over src/dify/embedding-cache.ts (text → vector; undecodable rows count as misses). */
export function embeddingCachePort(db: Db): EmbeddingCachePort {
  return {
    async lookup(model, provider, texts) {
      const hits = await lookupEmbeddings(db, { model, provider }, texts)
      const out = new Map<string, number[]>()
      for (const t of texts) {
        const e = hits.get(difyTextHash(t))
        if (e && 'vector' in e) out.set(t, Array.from(e.vector))
      }
      return out
    },
  }
}

/** Everything `dify vdb-migrate` does after flag checks and the release check: select, pre-flight, run. */
export async function runUnitsSelected(
  rt: Runtime,
  db: Db,
  profile: DifyProfile,
  o: RunOptions,
  h: RunHooks,
): Promise<VdbMigrateJson> {
  const config = rt.config
  const redis = o.dryRun ? undefined : await rt.redis()
  const redisDeps = redis
    ? { client: redis.client as never as { del(...k: string[]): Promise<number> }, keyPrefix: redis.keyPrefix }
    : undefined
  const release = storeOptionsFor(profile)
  const target = await openStore(config, undefined, redisDeps, release)
  const sources = sourceOpener(config, o.sourceEnvFile, release)
  try {
    const liveDeps: LiveSetDeps = { ...liveSetDeps(db, profile, config), vectorStore: target.store.type }
    const opts: MigrateOptions = { ...o, shard: o.shard ?? undefined }
    const units = await selectUnits(liveDeps, opts)
    const pre = await preflight(db, units, () => rt.broker() as never, { force: o.force, dryRun: o.dryRun })
    const database = { location: db.describe, revision: profile.revision, release: profile.version }
    const tgt = { type: target.store.type, location: target.location, serverVersion: target.serverVersion }
    h.onStart?.({ database, target: tgt, units: units.length, warnings: pre.warnings })
    const checkpoints =
      redis && o.checkpoint === 'redis'
        ? new RedisCheckpointStore({ client: redis.client as never as CheckpointRedis, keyPrefix: redis.keyPrefix })
        : new CheckpointStore(db)
    const deps: Deps = {
      db,
      redis: redisDeps,
      checkpoints,
      target,
      openSource: (t) => sources.open(t),
      live: liveSetPort(liveDeps),
      cache: embeddingCachePort(db),
      vectorIndexNamePrefix: liveDeps.namePrefix ?? DEFAULT_VECTOR_INDEX_NAME_PREFIX,
      signal: h.signal,
      progress: stderrProgress(h.writeErr, h.interactive),
      ...(o.deleteSource && !o.dryRun ? { confirmDeleteSource: h.confirmDeleteSource } : {}),
    }
    const res = await runUnits(deps, opts, units)
    return {
      ...res,
      database,
      target: tgt,
      sources: sources.opened.map((s) => ({
        type: s.store.type,
        location: s.location,
        serverVersion: s.serverVersion,
      })),
      preflight: { indexingDocuments: pre.indexingDocuments, datasetQueues: pre.datasetQueues },
      warnings: pre.warnings,
    }
  } finally {
    await sources.close()
    await target.store.close()
  }
}
