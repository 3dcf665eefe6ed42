/**
 * PostgreSQL, nothing needed client-side (no archive, no `--files quarantine`): several batches per round trip. One
 * server-side `DO` block runs the same keyset batches as clean.ts does one per round trip — the roots locked FOR UPDATE
 * in (created_at, id) order, every child level deleted through its parent's ids, the roots deleted, the checkpoint
 * upserted — each followed by a COMMIT, so each batch is still its own transaction under the session's lock_timeout
 * and writes its own checkpoint (SIGKILL, SIGINT and resume stay exact). After each commit the block RAISEs a NOTICE
 * with the batch's counts and keyset position (node-pg hands it over while the block runs), counts the sessions
 * waiting for a lock, and leaves early: after `maxBatches`, after its time budget, when waiters exceed
 * `--max-lock-waits` (or replicas lag more than `--max-lag`), so the client backs off, sleeps, honours SIGINT and
 * prints progress between blocks. PL/pgSQL plans each statement once per block, as the floor of the benchmark does.
 *
 * The block takes no parameters: every value enters its text as a literal made by `pgLiteral` (E'…' strings, finite
 * integers, null), and the dollar-quote tag is chosen not to occur in the body. PostgreSQL 11+ (COMMIT in DO), in a
 * session whose isolation is READ COMMITTED and that is not inside a transaction block.
 */
import type { RawBuilder } from 'kysely'
import type { Db, PgSession } from '../core/db.js'
import { RETENTION_CHECKPOINT_TABLE, type RetentionCheckpoint } from './checkpoint.js'
import { walk, type RetentionRoot } from '../dify/retention-map.js'
import { q, rootWhere } from './sql.js'

/** A value as a PostgreSQL literal: E'…' (backslashes and quotes escaped, whatever standard_conforming_strings says). */
export function pgLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error(`not an integer literal: ${v}`)
    return String(v)
  }
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (typeof v === 'string') {
    if (v.includes('\0')) throw new Error('a NUL character cannot be a PostgreSQL literal')
    return `E'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
  }
  throw new Error(`no literal for a ${typeof v}`)
}

/** A kysely raw fragment as text with its parameters inlined as literals ($n placeholders only come from kysely). */
export function inlineSql(db: Db, fragment: RawBuilder<unknown>): string {
  const c = fragment.compile(db.kysely)
  return c.sql.replace(/\$(\d+)/g, (_, n: string) => pgLiteral(c.parameters[Number(n) - 1]))
}

/** What one batch of a block reported (its NOTICE). */
export interface BlockBatch {
  /** rows deleted per table, in walk(root) order */
  counts: number[]
  /** the batch's last root row: created_at as text, id */
  lastCreatedAt: string
  lastId: string
  /** upload_files ids named by the batch's deleted rows */
  files: string[]
  /** the batch's transaction, ms (server clock) */
  ms: number
  /** sessions waiting for a lock right after the commit */
  lockWaits: number
}

export interface BlockOptions {
  batchSize: number
  apps: string[]
  tenants: string[]
  /** at most this many batches */
  maxBatches: number
  /** leave after the first batch that ends this many ms after the block started */
  budgetMs: number
  /** leave when more sessions than this wait for a lock */
  maxLockWaits: number
  /** leave when a replica's replay lag exceeds this (s) */
  maxLagSeconds?: number
  onBatch: (b: BlockBatch) => void
}

const NOTICE = 'dify-ops retention '

/** The SQL types (format_type) of the columns a block declares arrays of: each table's id, each child's link column. */
export type BlockTypes = Map<string, string>
const typeKey = (table: string, column: string) => `${table}.${column}`

/**
 * A select-list column (PostgreSQL) giving, as JSON, the types of the ids and link columns of the roots' tables:
 * folded into another query of the set-up (clean.ts pruneEmpty); `blockTypesOf` reads it.
 */
export function blockTypesColumn(roots: readonly RetentionRoot[]): string {
  const tables = [...new Set(roots.flatMap((r) => walk(r).map((x) => x.t.table)))]
  const cols = [
    ...new Set(['id', ...roots.flatMap((r) => walk(r).flatMap((x) => (x.t.link ? [x.t.link.column] : [])))]),
  ]
  const list = (xs: string[]) => xs.map((x) => pgLiteral(x)).join(', ')
  return `(select json_agg(json_build_array(c.relname, a.attname, format_type(a.atttypid, a.atttypmod)))
    from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relname in (${list(tables)}) and a.attname in (${list(cols)})
      and a.attnum > 0 and not a.attisdropped)`
}

/** The types read by `blockTypesColumn` (node-pg parses json into arrays). */
export function blockTypesOf(value: unknown): BlockTypes {
  const rows = (typeof value === 'string' ? JSON.parse(value) : (value ?? [])) as Array<[string, string, string]>
  return new Map(rows.map(([t, c, ty]) => [typeKey(t, c), ty]))
}

/**
 * The DO block's text for one root from the checkpoint `cp`. Each batch is a PL/pgSQL sequence like the floor's
 * (bench/retention-clean.ts): the roots' ids into an array (locked FOR UPDATE, keyset order), each child table deleted
 * through its parent's id array (`= any(array)`: the link column's index), the roots deleted, the checkpoint upserted,
 * COMMIT. (The same batch as one statement of data-modifying CTEs, as clean.ts runs it per round trip, took ~6 ms more
 * a batch inside a block.)
 */
export function blockSql(
  db: Db,
  root: RetentionRoot,
  cp: RetentionCheckpoint,
  types: BlockTypes,
  o: BlockOptions,
): string {
  const Q = (n: string) => q(db, n)
  const L = pgLiteral
  const tables = walk(root).map((x) => x.t)
  const idx = new Map(tables.map((t, i) => [t.table, i]))
  const type = (table: string, column: string) => {
    const ty = types.get(typeKey(table, column))
    if (!ty) throw new Error(`${table}.${column}: no such column`)
    return ty
  }
  const where = inlineSql(db, rootWhere(db, root, { cutoff: cp.cutoff, apps: o.apps, tenants: o.tenants }))
  const decl = [
    `a0 ${type(root.table, 'id')}[];`,
    ...tables.slice(1).flatMap((t, k) => (t.children.length ? [`a${k + 1} ${type(t.table, 'id')}[];`] : [])),
    ...tables.map((_, i) => `n${i} bigint := 0;`),
  ]
  const deletes: string[] = []
  for (const t of tables.slice(1)) {
    const i = idx.get(t.table)!
    const p = idx.get(t.link!.parent)!
    const parentType = type(t.link!.parent, 'id')
    const linkType = type(t.table, t.link!.column)
    const ids = parentType === linkType ? `a${p}` : `a${p}::${linkType}[]`
    const del = `delete from ${Q(t.table)} where ${Q(t.link!.column)} = any(${ids})`
    // a level without children nor files: its row count; else its ids (for the next level) and the file ids it names
    if (!t.children.length && !t.fileColumn) deletes.push(`${del};\n    get diagnostics n${i} = row_count;`)
    else
      deletes.push(`with x as (${del} returning ${[
        ...(t.children.length ? [Q('id')] : []),
        ...(t.fileColumn ? [`${Q(t.fileColumn)}::text as f`] : []),
      ].join(', ')})
    select count(*)${t.children.length ? `, array_agg(x.${Q('id')})` : ''}${t.fileColumn ? `, array_agg(x.f) filter (where x.f is not null)` : ''}
      into n${i}${t.children.length ? `, a${i}` : ''}${t.fileColumn ? ', ff' : ''} from x;${t.fileColumn ? '\n    fs := fs || coalesce(ff, array[]::text[]);' : ''}`)
  }
  const checkpoint = (state: string) => `insert into ${RETENTION_CHECKPOINT_TABLE}
      (job_key, grp, state, cutoff, last_created_at, last_id, batches, deleted, updated_at)
      values (${L(cp.jobKey)}, ${L(cp.group)}, '${state}', ${L(cp.cutoff)}, cpc, cpi, b, d,
        (clock_timestamp() at time zone 'utc')::timestamp(3))
      on conflict (job_key, grp) do update set state = excluded.state, cutoff = excluded.cutoff,
        last_created_at = excluded.last_created_at, last_id = excluded.last_id, batches = excluded.batches,
        deleted = excluded.deleted, updated_at = excluded.updated_at;`
  const lag =
    o.maxLagSeconds !== undefined
      ? `select coalesce(max(extract(epoch from replay_lag)), 0) into lg from pg_stat_replication;
    exit when lg > ${Number(o.maxLagSeconds)};`
      : ''
  const C = Q(root.createdAt)
  const body = `
declare
  lc ${Q(root.table)}.${C}%type := coalesce(${L(cp.lastCreatedAt)}, '-infinity');
  li ${Q(root.table)}.${Q('id')}%type := ${L(cp.lastId)};
  cpc text := ${L(cp.lastCreatedAt)};
  cpi text := ${L(cp.lastId)};
  b integer := ${L(cp.batches)};
  d bigint := ${L(cp.deleted)};
  t0 timestamptz := clock_timestamp();
  tb timestamptz;
  k integer := 0;
  fs text[];
  ff text[];
  lw integer;
  lg float8;
  ${decl.join('\n  ')}
begin
  loop
    tb := clock_timestamp();
    fs := array[]::text[];
    -- the keyset position: created_at >= lc is the index condition (lc starts at -infinity, li at null: no
    -- "lc is null or …" that a generic plan could not use); the rest filters the few rows at lc itself
    select array_agg(s.${Q('id')} order by s.${C}, s.${Q('id')}), max(s.${C}) into a0, lc from (
      select r.${Q('id')}, r.${C} from ${Q(root.table)} r where ${where}
        and r.${C} >= lc and (r.${C} > lc or li is null or r.${Q('id')} > li)
        order by r.${C}, r.${Q('id')} limit ${L(o.batchSize)} for update) s;
    if a0 is null then
      ${checkpoint('done')}
      commit;
      raise notice '${NOTICE}{"done":true}';
      exit;
    end if;
    li := a0[array_length(a0, 1)];
    ${deletes.join('\n    ')}
    delete from ${Q(root.table)} where ${Q('id')} = any(a0);
    get diagnostics n0 = row_count;
    b := b + 1;
    d := d + ${tables.map((_, i) => `n${i}`).join(' + ')};
    cpc := lc::text;
    cpi := li::text;
    ${checkpoint('running')}
    commit;
    k := k + 1;
    select count(*) into lw from pg_stat_activity where wait_event_type = 'Lock'
      and datname = current_database() and pid <> pg_backend_pid();
    raise notice '${NOTICE}%', json_build_object('n', array[${tables.map((_, i) => `n${i}`).join(', ')}], 'c', cpc,
      'i', cpi, 'f', fs, 'lw', lw, 'ms', round(extract(epoch from clock_timestamp() - tb) * 1000))::text;
    exit when k >= ${L(o.maxBatches)}
      or clock_timestamp() >= t0 + interval '${Math.max(0, Math.floor(o.budgetMs))} milliseconds'
      or lw > ${L(o.maxLockWaits)};
    ${lag}
  end loop;
end`
  let tag = '$dify_ops$'
  for (let i = 0; body.includes(tag); i++) tag = `$dify_ops_${i}$`
  return `do ${tag}${body}${tag}`
}

/**
 * Run one block on a session of its own. Each committed batch is reported through `o.onBatch` as its NOTICE arrives
 * (before the promise settles, also when a later batch of the block fails). Returns whether the root has nothing left.
 */
export async function runBlock(
  db: Db,
  root: RetentionRoot,
  cp: RetentionCheckpoint,
  types: BlockTypes,
  o: BlockOptions,
): Promise<{ done: boolean }> {
  const text = blockSql(db, root, cp, types, o)
  let done = false
  await db.withPgSession!(async (s: PgSession) => {
    const listen = (m: { message?: string }) => {
      const msg = m.message ?? ''
      if (!msg.startsWith(NOTICE)) return
      const x = JSON.parse(msg.slice(NOTICE.length)) as {
        done?: boolean
        n?: Array<number | string>
        c?: string
        i?: string
        f?: string[] | null
        lw?: number
        ms?: number
      }
      if (x.done) {
        done = true
        return
      }
      o.onBatch({
        counts: (x.n ?? []).map(Number),
        lastCreatedAt: x.c!,
        lastId: x.i!,
        files: x.f ?? [],
        ms: Number(x.ms ?? 0),
        lockWaits: Number(x.lw ?? 0),
      })
    }
    s.on('notice', listen)
    try {
      await s.query(text)
    } finally {
      s.removeListener('notice', listen)
    }
  })
  return { done }
}
