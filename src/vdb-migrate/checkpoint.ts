import { sql } from 'kysely'
import type { Db } from '../runtime/db.js'

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

export class CheckpointStore {
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
    const r = this.db.dialect === 'postgres'
      ? await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = current_schema() and table_name = ${CHECKPOINT_TABLE}`.execute(this.db.kysely)
      : await sql<{ n: number }>`select count(*) as n from information_schema.tables where table_schema = database() and table_name = ${CHECKPOINT_TABLE}`.execute(this.db.kysely)
    return Number(r.rows[0]?.n ?? 0) > 0
  }

  async get(unitKind: Checkpoint['unitKind'], unitId: string, targetKey: string): Promise<Checkpoint | null> {
    if (!this.#ready && !(await this.exists())) return null
    const r = await sql<Row>`select * from ${sql.raw(CHECKPOINT_TABLE)} where unit_kind = ${unitKind} and unit_id = ${unitId} and target_key = ${targetKey}`.execute(this.db.kysely)
    const row = r.rows[0]
    return row ? fromRow(row) : null
  }

  async put(c: Omit<Checkpoint, 'updatedAt'>): Promise<void> {
    await this.ensure()
    const now = new Date()
    const vals = sql`${c.unitKind}, ${c.unitId}, ${c.targetKey}, ${c.targetCollection}, ${c.sourceKey}, ${c.state}, ${c.sourcePosition}, ${c.written}, ${c.detail}, ${now}`
    const cols = sql.raw('unit_kind, unit_id, target_key, target_collection, source_key, state, source_position, written, detail, updated_at')
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
    await sql`delete from ${sql.raw(CHECKPOINT_TABLE)} where unit_kind = ${unitKind} and unit_id = ${unitId} and target_key = ${targetKey}`.execute(this.db.kysely)
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
