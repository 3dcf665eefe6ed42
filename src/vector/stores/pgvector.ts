import type { Pool, PoolClient } from 'pg'
import type { Config } from '../../config/schema.js'
import { ConfigError, ConnectError, DifyOpsError } from '../../core/errors.js'
import {
  PGVECTOR_HNSW_MAX_DIM,
  pgvectorHnswIndexName,
  pgvectorPhysicalTable,
  pgvectorTableSqlName,
} from '../../dify/collections.js'
import { pgvectorSettings, type PgvectorSettings } from '../config.js'
import { clearCollectionKeys } from '../redis-keys.js'
import {
  type OpenOptions,
  DEFAULT_SCAN_BATCH,
  type CollectionLayout,
  type EnsureOptions,
  type ScanOptions,
  type SearchHit,
  type SearchOptions,
  type StoreDescription,
  type VectorRecord,
  type VectorStore,
  type VectorTarget,
} from '../store.js'

/**
 * pgvector, exactly as Dify's `vdb/pgvector/pgvector.py` lays it out (dify-vector-stores.md §4 "pgvector"):
 * table `embedding_<class_prefix>` (unquoted: folded to lower case, truncated to 63 bytes), columns
 * id uuid PK = metadata.doc_id, text text, meta jsonb, embedding vector(dim), all NOT NULL, heap;
 * HNSW index `embedding_cosine_v1_idx_<md5(table)[:8]>` (vector_cosine_ops, m 16, ef_construction 64) when dim ≤ 2000.
 */
export async function open(config: Config, opts: OpenOptions = {}): Promise<PgvectorStore> {
  const s = pgvectorSettings(config.raw)
  const pg = (await import('pg')).default
  const pool = new pg.Pool({
    host: s.host,
    port: s.port,
    user: s.user,
    password: s.password,
    database: s.database,
    max: 4,
    connectionTimeoutMillis: config.connectTimeoutMs,
  })
  pool.on('error', () => {})
  return new PgvectorStore(pool, s, opts)
}

const NAME_RE = /^[A-Za-z0-9_]+$/
/** metadata.doc_id when it is a string, else the id (what scan() reads as docId from the full record) */
const DOC_ID_SQL = `case when jsonb_typeof(r.meta->'doc_id') = 'string' then r.meta->>'doc_id' else r.id::text end`
const qi = (ident: string) => `"${ident.replace(/"/g, '""')}"`

export class PgvectorStore implements VectorStore {
  readonly type = 'pgvector'
  constructor(
    private readonly pool: Pool,
    private readonly settings: Pick<PgvectorSettings, 'host' | 'port' | 'database'>,
    private readonly opts: OpenOptions = {},
  ) {}

  physicalName(target: VectorTarget): string {
    return pgvectorPhysicalTable(checkName(target.collection))
  }

  private table(target: VectorTarget): string {
    return qi(this.physicalName(target))
  }

  private async q<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      return (await this.pool.query(sql, params)).rows as T[]
    } catch (e) {
      throw mapError(e, this.settings)
    }
  }

  async describe(): Promise<StoreDescription> {
    const [v] = await this.q<{ server: string; ext: string | null }>(
      `select current_setting('server_version') as server, (select extversion from pg_extension where extname = 'vector') as ext`,
    )
    return {
      type: this.type,
      serverVersion: `PostgreSQL ${v!.server}, pgvector ${v!.ext ?? '(extension not created)'}`,
      collectionLayout:
        'one table embedding_<class_prefix> per dataset (lower-cased, truncated to 63 bytes), HNSW cosine index',
      location: `postgresql://${this.settings.host}:${this.settings.port}/${this.settings.database}`,
    }
  }

  async exists(target: VectorTarget): Promise<boolean> {
    const [r] = await this.q<{ oid: string | null }>(`select to_regclass($1)::text as oid`, [this.table(target)])
    return r?.oid != null
  }

  private async dimension(target: VectorTarget): Promise<number | null> {
    const [r] = await this.q<{ t: string }>(
      `select format_type(a.atttypid, a.atttypmod) as t from pg_attribute a
        where a.attrelid = to_regclass($1) and a.attname = 'embedding' and not a.attisdropped`,
      [this.table(target)],
    )
    const m = r?.t.match(/^vector\((\d+)\)$/)
    return m ? Number(m[1]) : null
  }

  async ensureCollection(target: VectorTarget, dim: number, opts: EnsureOptions = {}): Promise<'created' | 'exists'> {
    const t = this.table(target)
    if (!Number.isInteger(dim) || dim < 1 || dim > 16000) throw new DifyOpsError(`Invalid vector dimension ${dim}.`)
    if (await this.exists(target)) {
      const have = await this.dimension(target)
      if (have !== dim) {
        throw new ConfigError(
          `Table ${this.physicalName(target)} already exists with dimension ${have ?? 'unknown'}, not ${dim}.`,
          {
            hint: 'Delete the target collection first, or migrate vectors of the same embedding model.',
          },
        )
      }
      if (!opts.deferIndex) await this.createIndex(target, dim)
      return 'exists'
    }
    const [ext] = await this.q(`select 1 from pg_extension where extname = 'vector'`)
    if (!ext) {
      try {
        await this.pool.query('create extension if not exists vector')
      } catch (e) {
        throw new ConfigError(
          'The pgvector extension is not created in this database and cannot be created by this user.',
          {
            hint: 'Run CREATE EXTENSION vector as a superuser in PGVECTOR_DATABASE (or install pgvector on the server).',
            cause: e,
          },
        )
      }
    }
    await this.q(
      `create table if not exists ${t} (id uuid primary key, text text not null, meta jsonb not null, embedding vector(${dim}) not null) using heap`,
    )
    if (!opts.deferIndex) await this.createIndex(target, dim)
    await clearCollectionKeys(this.opts.redis, 'pgvector', target.collection)
    return 'created'
  }

  private async createIndex(target: VectorTarget, dim: number, client?: PoolClient): Promise<void> {
    if (dim > PGVECTOR_HNSW_MAX_DIM) return
    const sql = `create index if not exists ${qi(pgvectorHnswIndexName(target.collection))} on ${this.table(target)}
      using hnsw (embedding vector_cosine_ops) with (m = 16, ef_construction = 64)`
    if (client) await client.query(sql)
    else await this.q(sql)
  }

  async finishBulkLoad(target: VectorTarget): Promise<void> {
    const dim = await this.dimension(target)
    if (dim === null) return
    const client = await this.pool.connect().catch((e) => {
      throw mapError(e, this.settings)
    })
    try {
      // session settings only: a faster build, the same index
      await client.query(`set maintenance_work_mem = '512MB'`)
      await this.createIndex(target, dim, client)
    } catch (e) {
      throw mapError(e, this.settings)
    } finally {
      await client.query('reset maintenance_work_mem').catch(() => {})
      client.release()
    }
  }

  async layout(target: VectorTarget): Promise<CollectionLayout | null> {
    if (!(await this.exists(target))) return null
    const t = this.table(target)
    const columns = await this.q<{ name: string; type: string; notNull: boolean }>(
      `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as "notNull"
         from pg_attribute a where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped order by a.attnum`,
      [t],
    )
    const indexes = await this.q<{
      name: string
      method: string
      opclasses: string[] | null
      options: string[] | null
      primary: boolean
      definition: string
    }>(
      `select ic.relname as name, am.amname as method,
              (select array_agg(oc.opcname order by k.ord) from unnest(i.indclass) with ordinality k(oid, ord) join pg_opclass oc on oc.oid = k.oid)::text[] as opclasses,
              ic.reloptions as options, i.indisprimary as primary, pg_get_indexdef(i.indexrelid) as definition
         from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_am am on am.oid = ic.relam
        where i.indrelid = to_regclass($1) order by ic.relname`,
      [t],
    )
    const [am] = await this.q<{ am: string }>(
      `select am.amname as am from pg_class c join pg_am am on am.oid = c.relam where c.oid = to_regclass($1)`,
      [t],
    )
    const dim = await this.dimension(target)
    const hnsw = indexes.find((i) => i.method === 'hnsw')
    const opclass = hnsw?.opclasses?.[0]
    const metric =
      opclass === 'vector_cosine_ops'
        ? 'cosine'
        : opclass === 'vector_l2_ops'
          ? 'l2'
          : opclass === 'vector_ip_ops'
            ? 'ip'
            : 'cosine'
    return {
      name: this.physicalName(target),
      dimension: dim,
      metric,
      details: { accessMethod: am?.am, columns, indexes, sqlName: pgvectorTableSqlName(target.collection) },
    }
  }

  /**
   * Idempotent write. Fast path: COPY the batch straight into Dify's table (the store's own floor). When any doc_id
   * is already there (a retry, a re-run) the COPY fails on the primary key and nothing is written; the batch then
   * goes through a session-local staging table and one INSERT … SELECT … ON CONFLICT (id) DO UPDATE. Each path is
   * one transaction. The last record of a doc_id in a batch wins.
   */
  async upsert(target: VectorTarget, batch: VectorRecord[]): Promise<void> {
    if (!batch.length) return
    const byId = new Map<string, VectorRecord>()
    for (const r of batch) byId.set(r.docId, r)
    const chunks = copyBinary(byId.values())
    const t = this.table(target)
    const client = await this.pool.connect().catch((e) => {
      throw mapError(e, this.settings)
    })
    try {
      try {
        await client.query('begin')
        await copyIn(client, `copy ${t} (id, text, meta, embedding) from stdin with (format binary)`, chunks)
        await client.query('commit')
        return
      } catch (e) {
        await client.query('rollback').catch(() => {})
        if ((e as { code?: string }).code !== '23505') throw e
      }
      await client.query('begin')
      await client.query(
        `create temp table if not exists dify_ops_vector_stage (id uuid, text text, meta jsonb, embedding vector) on commit delete rows`,
      )
      await copyIn(
        client,
        `copy dify_ops_vector_stage (id, text, meta, embedding) from stdin with (format binary)`,
        chunks,
      )
      await client.query(
        `insert into ${t} (id, text, meta, embedding) select id, text, meta, embedding from dify_ops_vector_stage
         on conflict (id) do update set text = excluded.text, meta = excluded.meta, embedding = excluded.embedding`,
      )
      await client.query('commit')
    } catch (e) {
      await client.query('rollback').catch(() => {})
      throw mapError(e, this.settings)
    } finally {
      client.release()
    }
  }

  /**
   * Pages of `batchSize` rows in primary-key order, each read with `COPY (SELECT …) TO STDOUT (FORMAT binary)`: the
   * vector arrives as pgvector's send bytes (no hex bytea, no decimal text) and is decoded only when `vector` is read
   * (`pgvectorSend` keeps the bytes). The next page is requested before the current one is handed out, so the
   * server reads ahead while the caller works.
   */
  async *scan(target: VectorTarget, opts: ScanOptions = {}): AsyncIterable<VectorRecord[]> {
    const n = Math.max(1, Math.floor(opts.batchSize ?? DEFAULT_SCAN_BATCH))
    if (!(await this.exists(target))) return
    const t = this.table(target)
    // normsOnly (vdb check): the norm is computed by pgvector, and only the vectors asked for cross the wire
    if (opts.normsOnly) {
      yield* this.scanNorms(t, n, opts.normsOnly.vectorsOf ?? [])
      return
    }
    // order by the uuid column (r.id), not the text alias `id`: a text sort key cannot use the primary key and
    // sorted the whole table for every page. `after` is an id this scan read back (a canonical uuid): safe inline,
    // COPY takes no parameters.
    const page = (after: string | null) => {
      const p = this.copyOut(
        `copy (select r.id::text as id, r.text, r.meta::text as meta, r.embedding from ${t} r${after === null ? '' : ` where r.id > '${checkUuid(after)}'`} order by r.id limit ${n}) to stdout with (format binary)`,
      )
      p.catch(() => {}) // awaited below; a read-ahead the caller never asks for must not be an unhandled rejection
      return p
    }
    let next: Promise<VectorRecord[]> | null = page(null)
    while (next) {
      const rows: VectorRecord[] = await next
      next = rows.length === n ? page(rows[rows.length - 1]!.id) : null
      if (rows.length) yield rows
    }
  }

  private async copyOut(sql: string): Promise<VectorRecord[]> {
    const { to } = await import('pg-copy-streams')
    const client = await this.pool.connect().catch((e) => {
      throw mapError(e, this.settings)
    })
    try {
      const chunks: Buffer[] = []
      const stream = client.query(to(sql))
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (c: Buffer) => chunks.push(c))
        stream.on('end', resolve)
        stream.on('error', reject)
      })
      return parseCopyRows(Buffer.concat(chunks))
    } catch (e) {
      throw mapError(e, this.settings)
    } finally {
      client.release()
    }
  }

  /** scan() with normsOnly: id, doc_id and vector_norm (double precision) per row, the vector only of `vectorsOf` */
  private async *scanNorms(t: string, n: number, vectorsOf: readonly string[]): AsyncIterable<VectorRecord[]> {
    const cols = `r.id::text as id, ${DOC_ID_SQL} as doc_id, vector_norm(r.embedding) as norm,
       case when ${DOC_ID_SQL} = any($2::text[]) then vector_send(r.embedding) end as v`
    let after: string | null = null
    for (;;) {
      type Row = { id: string; doc_id: string; norm: number; v: Buffer | null }
      const params: unknown[] = [n, vectorsOf]
      if (after !== null) params.push(after)
      // order by the uuid column (r.id), not a text alias: a text sort key cannot use the primary key
      const rows: Row[] = await this.q<Row>(
        `select ${cols} from ${t} r ${after === null ? '' : `where r.id > $${params.length}`} order by r.id limit $1`,
        params,
      )
      if (!rows.length) return
      yield rows.map((r): VectorRecord => ({
        id: r.id,
        docId: r.doc_id,
        text: '',
        metadata: {},
        vector: r.v ? decodeVectorSend(r.v) : [],
        norm: Number(r.norm),
      }))
      if (rows.length < n) return
      after = rows[rows.length - 1]!.id
    }
  }

  async count(target: VectorTarget): Promise<number> {
    if (!(await this.exists(target))) return 0
    const [r] = await this.q<{ n: string }>(`select count(*) as n from ${this.table(target)}`)
    return Number(r!.n)
  }

  async search(target: VectorTarget, vector: number[], k: number, opts: SearchOptions = {}): Promise<SearchHit[]> {
    const params: unknown[] = [vectorLiteral(vector)]
    let where = ''
    if (opts.documentIds?.length) {
      params.push(opts.documentIds)
      where = `where meta->>'document_id' = any($2::text[])`
    }
    const rows = await this.q<{ id: string; meta: Record<string, unknown>; text: string; distance: number }>(
      `select id::text as id, meta, text, embedding <=> $1::vector as distance from ${this.table(target)} ${where} order by distance limit ${Math.max(1, Math.floor(k))}`,
      params,
    )
    const hits = rows.map((r) => {
      const score = 1 - r.distance
      return { id: r.id, docId: String(r.meta.doc_id ?? r.id), text: r.text, metadata: { ...r.meta, score }, score }
    })
    const t = opts.scoreThreshold
    return t === undefined ? hits : hits.filter((h) => h.score >= t)
  }

  async deleteByDocIds(target: VectorTarget, docIds: string[]): Promise<void> {
    if (!docIds.length || !(await this.exists(target))) return
    await this.q(`delete from ${this.table(target)} where id = any($1::uuid[])`, [docIds])
  }

  async deleteTarget(target: VectorTarget): Promise<void> {
    await this.q(`drop table if exists ${this.table(target)}`)
    await clearCollectionKeys(this.opts.redis, 'pgvector', target.collection)
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {})
  }
}

function checkName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new DifyOpsError(`"${name}" is not a collection name Dify generates for pgvector.`, {
      hint: 'Dify names pgvector collections <prefix>_<uuid with underscores>_Node (letters, digits and _ only).',
    })
  }
  return name
}

async function copyIn(client: PoolClient, sql: string, chunks: Buffer[]): Promise<void> {
  const { from } = await import('pg-copy-streams')
  const stream = client.query(from(sql))
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve)
    stream.on('error', reject)
  })
  done.catch(() => {}) // observed below; a server error must not surface as an unhandled rejection meanwhile
  for (const c of chunks) {
    // a server error (e.g. a duplicate key) ends the wait instead of leaving it for a 'drain' that never comes
    if (!stream.write(c)) await Promise.race([new Promise((res) => stream.once('drain', res)), done])
  }
  stream.end()
  await done
}

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')

/**
 * The batch in PostgreSQL's binary COPY format for (id uuid, text text, meta jsonb, embedding vector): no decimal
 * text for the floats (pgvector's binary input is its send format: int16 dim, int16 0, float4 big-endian).
 * The JSON written to meta is JSON.stringify of the metadata (jsonb keeps no formatting anyway).
 */
export function copyBinary(records: Iterable<VectorRecord>): Buffer[] {
  // two passes: encode the variable fields, then write every tuple into one buffer (one allocation per batch
  // instead of one per row keeps the garbage — and the peak RSS — down)
  const rows: Array<{ r: VectorRecord; id: Buffer; text: Buffer; meta: Buffer; dim: number }> = []
  let size = 0
  for (const r of records) {
    const id = Buffer.from(r.docId.replace(/-/g, ''), 'hex')
    if (id.length !== 16)
      throw new DifyOpsError(`doc_id ${JSON.stringify(r.docId)} is not a UUID; Dify's pgvector id column is uuid.`)
    const text = Buffer.from(r.text, 'utf8')
    const meta = Buffer.from(JSON.stringify({ ...r.metadata, doc_id: r.docId }), 'utf8')
    const send = r.pgvectorSend
    const dim = send ? send.readUInt16BE(0) : r.vector.length
    if (send && send.length !== 4 + 4 * dim)
      throw new DifyOpsError(`doc_id ${r.docId}: pgvector bytes of ${send.length} bytes for dimension ${dim}.`)
    rows.push({ r, id, text, meta, dim })
    size += 2 + (4 + 16) + (4 + text.length) + (4 + 1 + meta.length) + (4 + 4 + 4 * dim)
  }
  const head = Buffer.alloc(COPY_SIGNATURE.length + 8) // signature, flags 0, no header extension
  COPY_SIGNATURE.copy(head, 0)
  const b = Buffer.allocUnsafe(size)
  let o = 0
  for (const { r, id, text, meta, dim } of rows) {
    o = b.writeInt16BE(4, o)
    o = b.writeInt32BE(16, o)
    o += id.copy(b, o)
    o = b.writeInt32BE(text.length, o)
    o += text.copy(b, o)
    o = b.writeInt32BE(meta.length + 1, o)
    o = b.writeUInt8(1, o) // jsonb binary format version
    o += meta.copy(b, o)
    o = b.writeInt32BE(4 + 4 * dim, o)
    const send = r.pgvectorSend
    if (send) {
      // pgvector's send format is its binary COPY input: the bytes go through untouched
      o += send.copy(b, o)
    } else {
      o = b.writeInt16BE(dim, o)
      o = b.writeInt16BE(0, o)
      for (let i = 0; i < dim; i++) o = b.writeFloatBE(r.vector[i]!, o)
    }
  }
  if (o !== size) throw new DifyOpsError(`pgvector: COPY buffer of ${o} bytes, ${size} computed.`)
  const trailer = Buffer.alloc(2)
  trailer.writeInt16BE(-1, 0)
  return [head, b, trailer] // header, every tuple, trailer (benchmarks splice batches by these three parts)
}

/**
 * The rows of a binary COPY of (id::text, text, meta::text, embedding): the signature, flags and header extension,
 * then per tuple int16 field count and per field int32 length + bytes, ended by int16 -1.
 */
export function parseCopyRows(b: Buffer): VectorRecord[] {
  const out: VectorRecord[] = []
  if (!b.length) return out
  if (b.length < COPY_SIGNATURE.length + 8 || !b.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE)) {
    throw new DifyOpsError('pgvector: unexpected binary COPY header.')
  }
  let o = COPY_SIGNATURE.length + 4
  o += 4 + b.readInt32BE(o)
  const field = (): [number, number] => {
    const len = b.readInt32BE(o)
    const start = o + 4
    o = start + Math.max(0, len)
    return [start, len]
  }
  for (;;) {
    const n = b.readInt16BE(o)
    o += 2
    if (n === -1) break
    if (n !== 4) throw new DifyOpsError(`pgvector: a binary COPY row of ${n} fields, 4 expected.`)
    const [is, il] = field()
    const [ts, tl] = field()
    const [ms, ml] = field()
    const [vs, vl] = field()
    if (il < 0 || vl < 0) throw new DifyOpsError('pgvector: a row without id or embedding.')
    const id = b.toString('latin1', is, is + il)
    const metadata = ml < 0 ? {} : (JSON.parse(b.toString('utf8', ms, ms + ml)) as Record<string, unknown>)
    // a view into the page, not a copy: a record kept alive keeps its page (~batch × 6 KB at 1536 dimensions)
    const send = b.subarray(vs, vs + vl)
    out.push(
      pgvectorRecord(
        id,
        typeof metadata?.doc_id === 'string' ? metadata.doc_id : id,
        tl < 0 ? '' : b.toString('utf8', ts, ts + tl),
        metadata ?? {},
        send,
      ),
    )
  }
  return out
}

/** A record whose `vector` is decoded from `send` on first read; assigning `vector` drops `send`. */
export function pgvectorRecord(
  id: string,
  docId: string,
  text: string,
  metadata: Record<string, unknown>,
  send: Buffer,
): VectorRecord {
  let v: number[] | undefined
  const r = { id, docId, text, metadata } as VectorRecord
  Object.defineProperty(r, 'vector', {
    enumerable: true,
    configurable: true,
    get: () => (v ??= decodeVectorSend(send)),
    set: (x: number[]) => {
      v = x
      delete r.pgvectorSend
    },
  })
  Object.defineProperty(r, 'pgvectorSend', { value: send, enumerable: false, writable: true, configurable: true })
  return r
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
function checkUuid(id: string): string {
  if (!UUID_RE.test(id)) throw new DifyOpsError(`pgvector: ${JSON.stringify(id)} is not a uuid.`)
  return id
}

/** pgvector's text input format; shortest round-trip decimal of each value. */
export function vectorLiteral(v: ArrayLike<number>): string {
  let s = '['
  for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + v[i]
  return s + ']'
}

/** pgvector's binary send format: uint16 dim, uint16 unused, then dim × float4 big-endian. */
export function decodeVectorSend(b: Buffer): number[] {
  const dim = b.readUInt16BE(0)
  const out = new Array<number>(dim)
  for (let i = 0; i < dim; i++) out[i] = b.readFloatBE(4 + 4 * i)
  return out
}

function mapError(e: unknown, s: Pick<PgvectorSettings, 'host' | 'port' | 'database'>): Error {
  if (e instanceof DifyOpsError) return e
  const err = e as { code?: string; message?: string }
  if (
    (err.code &&
      ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', '28P01', '28000', '3D000'].includes(err.code)) ||
    /timeout/i.test(err.message ?? '')
  ) {
    return new ConnectError(
      `Cannot connect to the pgvector database at ${s.host}:${s.port}/${s.database}: ${err.message}.`,
      {
        hint: 'Check PGVECTOR_HOST, PGVECTOR_PORT, PGVECTOR_USER, PGVECTOR_PASSWORD and PGVECTOR_DATABASE.',
        cause: e,
      },
    )
  }
  return new DifyOpsError(`pgvector: ${err.message ?? String(e)}`, { cause: e })
}
