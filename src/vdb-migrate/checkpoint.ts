import { sql } from 'kysely'
import { keys } from '../dify/keys.js'
import type { Db } from '../core/db.js'
import { tableExists } from '../core/catalog.js'

/**
 * Checkpoints of `dify vdb-migrate`, in a table of our own in the metadata database. The `dify_ops_` prefix is
 * ignored by schema comparisons (upgrade-db / doctor), so Dify's schema is untouched. One row per unit of work
 * (a dataset or an app's annotations) and target; `source_position` is the contiguous prefix of source batches
 * written, so a rerun skips them without writing again.
 */
export const CHECKPOINT_TABLE = 'dify_ops_vdb_migrate_checkpoints'

export type CheckpointState = 'copying' | 'copied' | 'verified' | 'done' | 'failed'

export interface Checkpoint {
  unitKind: 'dataset' | 'annotation'
  unitId: string
  /** "<store type>@<location>": the same unit can be migrated to several places over time */
  targetKey: string
  targetCollection: string
  /** the source the copy started from ("<type>@<location>/<collection>"); a different source restarts */
  sourceKey: string
  state: CheckpointState
  sourcePosition: number
  written: number
  detail: string | null
  updatedAt: Date
}

/**
 * Where checkpoints live: the table (`--checkpoint db`, default) or Redis (`--checkpoint redis`). Each `put` is one
 * atomic write of the whole checkpoint (one UPSERT statement / one HSET), made only after the batches it counts are
 * written; a crash between a write and its checkpoint leaves an older position, and the rerun writes those batches
 * again (upserts keyed by doc_id never duplicate).
 */
export interface CheckpointPort {
  readonly kind: 'db' | 'redis'
  get(unitKind: Checkpoint['unitKind'], unitId: string, targetKey: string): Promise<Checkpoint | null>
  put(c: Omit<Checkpoint, 'updatedAt'>): Promise<void>
  remove(unitKind: Checkpoint['unitKind'], unitId: string, targetKey: string): Promise<void>
}

interface Row {
  unit_kind: string
  unit_id: string
  target_key: string
  target_collection: string
  source_key: string
  state: string
  source_position: number | string
  written: number | string
  detail: string | null
  updated_at: Date | string
}

export class CheckpointStore implements CheckpointPort {
  readonly kind = 'db'
  #ready = false
  constructor(private readonly db: Db) {}

  /** Create the table when it is missing (portable DDL: PostgreSQL and MySQL). */
  async ensure(): Promise<void> {
    if (this.#ready) return
    await sql`create table if not exists ${sql.raw(CHECKPOINT_TABLE)} (
      unit_kind varchar(16) not null,
      unit_id varchar(36) not null,
      target_key varchar(255) not null,
      target_collection varchar(255) not null,
      source_key varchar(512) not null,
      state varchar(16) not null,
      source_position integer not null,
      written bigint not null,
      detail text,
      updated_at timestamp not null,
      primary key (unit_kind, unit_id, target_key)
    )`.execute(this.db.kysely)
    this.#ready = true
  }

  /** Does the table exist? (dry runs read checkpoints without creating anything) */
  async exists(): Promise<boolean> {
    return tableExists(this.db, CHECKPOINT_TABLE)
  }

  async get(unitKind: Checkpoint['unitKind'], unitId: string, targetKey: string): Promise<Checkpoint | null> {
    if (!this.#ready && !(await this.exists())) return null
    const r =
      await sql<Row>`select * from ${sql.raw(CHECKPOINT_TABLE)} where unit_kind = ${unitKind} and unit_id = ${unitId} and target_key = ${targetKey}`.execute(
        this.db.kysely,
      )
    const row = r.rows[0]
    return row ? fromRow(row) : null
  }

  async put(c: Omit<Checkpoint, 'updatedAt'>): Promise<void> {
    await this.ensure()
    const now = new Date()
    const vals = sql`${c.unitKind}, ${c.unitId}, ${c.targetKey}, ${c.targetCollection}, ${c.sourceKey}, ${c.state}, ${c.sourcePosition}, ${c.written}, ${c.detail}, ${now}`
    const cols = sql.raw(
      'unit_kind, unit_id, target_key, target_collection, source_key, state, source_position, written, detail, updated_at',
    )
    if (this.db.dialect === 'postgres') {
      await sql`insert into ${sql.raw(CHECKPOINT_TABLE)} (${cols}) values (${vals})
        on conflict (unit_kind, unit_id, target_key) do update set target_collection = excluded.target_collection,
        source_key = excluded.source_key, state = excluded.state, source_position = excluded.source_position,
        written = excluded.written, detail = excluded.detail, updated_at = excluded.updated_at`.execute(this.db.kysely)
    } else {
      await sql`insert into ${sql.raw(CHECKPOINT_TABLE)} (${cols}) values (${vals})
        on duplicate key update target_collection = values(target_collection), source_key = values(source_key),
        state = values(state), source_position = values(source_position), written = values(written), detail = values(detail),
        updated_at = values(updated_at)`.execute(this.db.kysely)
    }
  }

  async remove(unitKind: Checkpoint['unitKind'], unitId: string, targetKey: string): Promise<void> {
    if (!this.#ready && !(await this.exists())) return
    await sql`delete from ${sql.raw(CHECKPOINT_TABLE)} where unit_kind = ${unitKind} and unit_id = ${unitId} and target_key = ${targetKey}`.execute(
      this.db.kysely,
    )
  }
}

function fromRow(r: Row): Checkpoint {
  return {
    unitKind: r.unit_kind as Checkpoint['unitKind'],
    unitId: r.unit_id,
    targetKey: r.target_key,
    targetCollection: r.target_collection,
    sourceKey: r.source_key,
    state: r.state as CheckpointState,
    sourcePosition: Number(r.source_position),
    written: Number(r.written),
    detail: r.detail,
    updatedAt: r.updated_at instanceof Date ? r.updated_at : new Date(r.updated_at),
  }
}

/** The Redis commands the Redis store uses (ioredis' Redis or Cluster: one key per command, so Cluster is fine). */
export interface CheckpointRedis {
  hget(key: string, field: string): Promise<string | null>
  hset(key: string, field: string, value: string): Promise<number>
  hdel(key: string, field: string): Promise<number>
}

/**
 * Checkpoints in the app-cache Redis (`--checkpoint redis`): key `<REDIS_KEY_PREFIX>:dify_ops:vdb_migrate:checkpoint:
 * <unit kind>:<unit id>` (a HASH), field = target key, value = the checkpoint as JSON — the same columns as the
 * table. No TTL: a checkpoint lives until `--restart`, a different source/target restarts the unit, or someone
 * deletes the key; a Redis evicting keys (maxmemory-policy allkeys-*) or flushed mid-migration only costs a fresh
 * start of the units it held (nothing is switched without verification).
 */
export class RedisCheckpointStore implements CheckpointPort {
  readonly kind = 'redis'
  constructor(private readonly redis: { client: CheckpointRedis; keyPrefix: string }) {}

  #key(unitKind: Checkpoint['unitKind'], unitId: string): string {
    return keys.vdbMigrateCheckpoint(unitKind, unitId, this.redis.keyPrefix)
  }

  async get(unitKind: Checkpoint['unitKind'], unitId: string, targetKey: string): Promise<Checkpoint | null> {
    const raw = await this.redis.client.hget(this.#key(unitKind, unitId), targetKey)
    if (raw === null) return null
    let v: Record<string, unknown>
    try {
      v = JSON.parse(raw) as Record<string, unknown>
    } catch {
      return null // not ours or damaged: start the unit over
    }
    if (typeof v.state !== 'string' || typeof v.sourceKey !== 'string' || typeof v.targetCollection !== 'string')
      return null
    return {
      unitKind,
      unitId,
      targetKey,
      targetCollection: v.targetCollection,
      sourceKey: v.sourceKey,
      state: v.state as CheckpointState,
      sourcePosition: Number(v.sourcePosition ?? 0),
      written: Number(v.written ?? 0),
      detail: typeof v.detail === 'string' ? v.detail : null,
      updatedAt: new Date(String(v.updatedAt ?? 0)),
    }
  }

  async put(c: Omit<Checkpoint, 'updatedAt'>): Promise<void> {
    const value = JSON.stringify({
      targetCollection: c.targetCollection,
      sourceKey: c.sourceKey,
      state: c.state,
      sourcePosition: c.sourcePosition,
      written: c.written,
      detail: c.detail,
      updatedAt: new Date().toISOString(),
    })
    await this.redis.client.hset(this.#key(c.unitKind, c.unitId), c.targetKey, value)
  }

  async remove(unitKind: Checkpoint['unitKind'], unitId: string, targetKey: string): Promise<void> {
    await this.redis.client.hdel(this.#key(unitKind, unitId), targetKey)
  }
}
