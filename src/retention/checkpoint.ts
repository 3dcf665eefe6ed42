/**
 * Checkpoints of `dify retention clean`, in a table of our own (the `dify_ops_` prefix is ignored by the schema
 * comparisons, as vdb-migrate's). One row per job and group; it is written by each batch inside the batch's own
 * transaction, so it always says exactly which batches committed.
 */
import { sql, type Kysely } from 'kysely'
import type { Db } from '../core/db.js'
import { tableExists } from '../core/catalog.js'
import type { DifyDatabase } from '../core/tables.js'

export const RETENTION_CHECKPOINT_TABLE = 'dify_ops_retention_checkpoints'

export interface RetentionCheckpoint {
  jobKey: string
  group: string
  state: 'running' | 'done'
  /** the cut-off of the job ("YYYY-MM-DD HH:MM:SS.mmm", UTC): a resumed job keeps it */
  cutoff: string
  /** keyset position: the last root row deleted (created_at as the database prints it, id) */
  lastCreatedAt: string | null
  lastId: string | null
  /** batches committed by this job and group (archive batch numbers continue from it) */
  batches: number
  deleted: number
}

type Exec = Kysely<DifyDatabase>

export async function checkpointTableExists(db: Db): Promise<boolean> {
  return tableExists(db, RETENTION_CHECKPOINT_TABLE)
}

export async function ensureCheckpointTable(db: Db): Promise<void> {
  await sql`create table if not exists ${sql.raw(RETENTION_CHECKPOINT_TABLE)} (
    job_key varchar(64) not null,
    grp varchar(16) not null,
    state varchar(16) not null,
    cutoff varchar(40) not null,
    last_created_at varchar(40),
    last_id varchar(64),
    batches integer not null,
    deleted bigint not null,
    updated_at timestamp not null,
    primary key (job_key, grp)
  )`.execute(db.kysely)
}

export async function readCheckpoint(db: Db, jobKey: string, group: string): Promise<RetentionCheckpoint | null> {
  if (!(await checkpointTableExists(db))) return null
  return (await readCheckpoints(db, jobKey, [group])).get(group) ?? null
}

/** The checkpoints of `groups` under `jobKey`, in one query (the table must exist). */
export async function readCheckpoints(
  db: Db,
  jobKey: string,
  groups: readonly string[],
): Promise<Map<string, RetentionCheckpoint>> {
  const out = new Map<string, RetentionCheckpoint>()
  if (!groups.length) return out
  const r = await sql<{
    grp: string
    state: string
    cutoff: string
    last_created_at: string | null
    last_id: string | null
    batches: number | string
    deleted: number | string
  }>`select grp, state, cutoff, last_created_at, last_id, batches, deleted from ${sql.raw(RETENTION_CHECKPOINT_TABLE)}
     where job_key = ${jobKey} and grp in (${sql.join([...groups])})`.execute(db.kysely)
  for (const x of r.rows)
    out.set(x.grp, {
      jobKey,
      group: x.grp,
      state: x.state === 'done' ? 'done' : 'running',
      cutoff: x.cutoff,
      lastCreatedAt: x.last_created_at,
      lastId: x.last_id,
      batches: Number(x.batches),
      deleted: Number(x.deleted),
    })
  return out
}

/** Upsert on the given executor (a batch's transaction). */
export async function writeCheckpoint(exec: Exec, dialect: Db['dialect'], c: RetentionCheckpoint): Promise<void> {
  const now = new Date().toISOString().replace('T', ' ').replace('Z', '')
  const vals = sql`${c.jobKey}, ${c.group}, ${c.state}, ${c.cutoff}, ${c.lastCreatedAt}, ${c.lastId}, ${c.batches}, ${c.deleted}, ${now}`
  const cols = sql.raw('job_key, grp, state, cutoff, last_created_at, last_id, batches, deleted, updated_at')
  if (dialect === 'postgres')
    await sql`insert into ${sql.raw(RETENTION_CHECKPOINT_TABLE)} (${cols}) values (${vals})
      on conflict (job_key, grp) do update set state = excluded.state, cutoff = excluded.cutoff,
      last_created_at = excluded.last_created_at, last_id = excluded.last_id, batches = excluded.batches,
      deleted = excluded.deleted, updated_at = excluded.updated_at`.execute(exec)
  else
    await sql`insert into ${sql.raw(RETENTION_CHECKPOINT_TABLE)} (${cols}) values (${vals})
      on duplicate key update state = values(state), cutoff = values(cutoff), last_created_at = values(last_created_at),
      last_id = values(last_id), batches = values(batches), deleted = values(deleted), updated_at = values(updated_at)`.execute(
      exec,
    )
}
