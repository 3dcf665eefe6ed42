/**
 * The schema normaliser: read a live Dify metadata database (PostgreSQL or PGlite through pg_catalog, MySQL/MariaDB
 * through information_schema) into a normalised, sorted, JSON-serialisable description, and compare two of them.
 *
 * What is compared (design and the reasons: docs/migrations.md):
 * - tables (sorted by name); columns in their physical order with type, nullability, default, comment,
 *   auto_increment (MySQL) and identity (PG);
 * - primary key (name and columns; MySQL names every primary key PRIMARY, so its name is null there);
 * - unique constraints (PG; on MySQL a unique constraint is a unique index, so it is listed under indexes);
 * - foreign keys and check constraints (canonical definition text);
 * - indexes (not backing a constraint): name, uniqueness, method, key columns or expressions with DESC / NULLS,
 *   INCLUDE columns, predicate (PG) or prefix length (MySQL);
 * - sequences (PG), extensions (PG; plpgsql left out; versions not compared), functions in the schema that no
 *   extension owns: name, identity arguments, result type, language, volatility, strictness and parallel safety.
 *   Function bodies are not compared: ours are our own implementations of Dify's `uuidv7()` and
 *   `uuidv7_boundary()` (same results, different text).
 *
 * Left out, as Dify's Alembic environment leaves them out: pgvector collection tables `embedding_vector_index_…_nod`
 * (they live in the metadata database when PGVECTOR_DATABASE is the same database) and dify-ops' own tables
 * (prefix `dify_ops_`), with their sequences and indexes.
 */
import { sql } from 'kysely'
import type { Db } from '../../core/db.js'

export interface NColumn {
  name: string
  type: string
  nullable: boolean
  default: string | null
  comment?: string
  /** MySQL AUTO_INCREMENT / PG identity kind */
  autoIncrement?: true
  identity?: string
  /** MySQL ON UPDATE clause */
  onUpdate?: string
  /** a generated column (PG `GENERATED ALWAYS AS (…) STORED`, MySQL STORED/VIRTUAL): `default` holds its expression */
  generated?: 'stored' | 'virtual'
}
export interface NIndex {
  name: string
  unique: boolean
  method: string
  /** key columns or expressions, with ` DESC` / ` NULLS FIRST|LAST` / `(prefix)` when not the default */
  columns: string[]
  include?: string[]
  predicate?: string
}
export interface NTable {
  name: string
  columns: NColumn[]
  primaryKey: { name: string | null; columns: string[] } | null
  uniques: { name: string; columns: string[] }[]
  foreignKeys: { name: string; definition: string }[]
  checks: { name: string; definition: string }[]
  indexes: NIndex[]
  comment?: string
}
export interface NSequence {
  name: string
  type: string
  start: string
  increment: string
  min: string
  max: string
  cycle: boolean
  ownedBy: string | null
}
export interface NFunction {
  name: string
  args: string
  result: string
  language: string
  volatility: string
  strict: boolean
  parallel: string
}
export interface NormalisedSchema {
  dialect: 'postgres' | 'mysql'
  tables: NTable[]
  sequences: NSequence[]
  extensions: string[]
  functions: NFunction[]
}

/** Tables the normaliser never looks at (Dify's Alembic env.py include_object, and our own tables). */
export function isIgnoredTable(name: string): boolean {
  return /^embedding_vector_index_.*_nod$/.test(name) || name.startsWith('dify_ops_')
}

export interface IntrospectOptions {
  /** keep the alembic_version table in the result (default true) */
  includeAlembicVersion?: boolean
}

/** Read the live schema of `db` (its current schema / database) into the normalised form. */
export async function introspectSchema(db: Db, opts: IntrospectOptions = {}): Promise<NormalisedSchema> {
  const s = db.dialect === 'postgres' ? await introspectPg(db) : await introspectMysql(db)
  if (opts.includeAlembicVersion === false) s.tables = s.tables.filter((t) => t.name !== 'alembic_version')
  return s
}

async function q<T>(db: Db, text: string): Promise<T[]> {
  const r = await sql.raw(text).execute(db.kysely)
  return r.rows as T[]
}

/** rows grouped by a key, in their order (one pass instead of a filter per table) */
function groupBy<T, K>(rows: T[], key: (r: T) => K): (k: K) => T[] {
  const m = new Map<K, T[]>()
  for (const r of rows) {
    const k = key(r)
    const a = m.get(k)
    if (a) a.push(r)
    else m.set(k, [r])
  }
  return (k) => m.get(k) ?? []
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

// ---------------------------------------------------------------- PostgreSQL

/** The rows of introspectPg's catalog reads, one array per read (a text[] arrives as a JSON array, PGlite too). */
interface PgCatalog {
  tables: { oid: number; name: string; comment: string | null }[]
  cols: {
    rel: number
    name: string
    type: string
    notnull: boolean
    def: string | null
    comment: string | null
    identity: string
    generated: string
  }[]
  cons: { rel: number; name: string; type: string; cols: string[] | null; def: string }[]
  idx: {
    rel: number
    name: string
    unique: boolean
    method: string
    nkey: number
    natts: number
    options: string
    pred: string | null
    oid: number
  }[]
  idxCols: { oid: number; k: number; expr: string }[]
  seqs: {
    name: string
    type: string
    start: string
    inc: string
    min: string
    max: string
    cycle: boolean
    owned: string | null
  }[]
  exts: { name: string }[]
  funcs: {
    name: string
    args: string
    result: string
    language: string
    volatility: string
    strict: boolean
    parallel: string
  }[]
}

const PG_NS = `(select oid from pg_namespace where nspname = current_schema())`

/**
 * The comment of a table (sub 0) or column (sub = attnum) as a join: what obj_description / col_description return,
 * without a SQL function call per row (~17 ms of server time on Dify's ~1 150 columns in a new session).
 */
const pgDescription = (oid: string, sub: string) =>
  `left join pg_description ds on ds.objoid = ${oid} and ds.classoid = 'pg_class'::regclass and ds.objsubid = ${sub}`

/**
 * Each catalog read: its select (no ORDER BY) and the order of its rows, applied by the aggregate (`x.` are the
 * select's own columns, of the catalog's types: a `name` sorts as the catalog does, bytewise).
 */
const PG_READS: Record<keyof PgCatalog, [select: string, order: string]> = {
  tables: [
    `select c.oid::int as oid, c.relname as name, ds.description as comment
       from pg_class c ${pgDescription('c.oid', '0')}
      where c.relnamespace = ${PG_NS} and c.relkind in ('r','p')`,
    'x.name',
  ],
  cols: [
    `select a.attrelid::int as rel, a.attnum as num, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
            a.attnotnull as notnull, pg_get_expr(d.adbin, d.adrelid) as def, ds.description as comment,
            a.attidentity::text as identity, a.attgenerated::text as generated
       from pg_attribute a join pg_class c on c.oid = a.attrelid
       left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
       ${pgDescription('a.attrelid', 'a.attnum')}
      where c.relnamespace = ${PG_NS} and c.relkind in ('r','p') and a.attnum > 0 and not a.attisdropped`,
    'x.rel, x.num',
  ],
  cons: [
    `select con.conrelid::int as rel, con.conname as name, con.contype::text as type,
            (select array_agg(a.attname::text order by k.ord) from unnest(con.conkey) with ordinality k(attnum, ord)
               join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum) as cols,
            pg_get_constraintdef(con.oid, true) as def
       from pg_constraint con join pg_class c on c.oid = con.conrelid
      where c.relnamespace = ${PG_NS} and con.contype in ('p','u','f','c','x')`,
    'x.name',
  ],
  idx: [
    `select i.indrelid::int as rel, ic.relname as name, i.indisunique as unique, am.amname as method,
            i.indnkeyatts::int as nkey, i.indnatts::int as natts, i.indoption::text as options,
            pg_get_expr(i.indpred, i.indrelid, true) as pred, i.indexrelid::int as oid
       from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_class c on c.oid = i.indrelid
       join pg_am am on am.oid = ic.relam
      where c.relnamespace = ${PG_NS}
        and not exists (select 1 from pg_constraint con where con.conindid = i.indexrelid and con.contype in ('p','u','x'))`,
    'x.name',
  ],
  idxCols: [
    `select i.indexrelid::int as oid, k.k::int as k, pg_get_indexdef(i.indexrelid, k.k::int, true) as expr
       from pg_index i join pg_class c on c.oid = i.indrelid
       cross join lateral generate_series(1, i.indnatts) k(k)
      where c.relnamespace = ${PG_NS}`,
    'x.oid, x.k',
  ],
  seqs: [
    `select c.relname as name, format_type(s.seqtypid, null) as type, s.seqstart::text as start, s.seqincrement::text as inc,
            s.seqmin::text as min, s.seqmax::text as max, s.seqcycle as cycle,
            (select t.relname || '.' || a.attname from pg_depend d join pg_class t on t.oid = d.refobjid
               join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
              where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a','i') limit 1) as owned
       from pg_class c join pg_sequence s on s.seqrelid = c.oid
      where c.relnamespace = ${PG_NS} and c.relkind = 'S'`,
    'x.name',
  ],
  exts: [`select extname as name from pg_extension where extname <> 'plpgsql'`, 'x.name'],
  funcs: [
    `select p.proname as name, pg_get_function_identity_arguments(p.oid) as args, pg_get_function_result(p.oid) as result,
            l.lanname as language, p.provolatile::text as volatility, p.proisstrict as strict, p.proparallel::text as parallel
       from pg_proc p join pg_language l on l.oid = p.prolang
      where p.pronamespace = ${PG_NS}
        and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')`,
    'x.name, x.args',
  ],
}

/**
 * All of introspectPg's catalog reads as one statement that returns one JSON document (text): one round trip, one
 * consistent snapshot, and one JSON.parse instead of ~2 000 rows through the driver's row parser, which cost ~45 ms
 * of CPU in a fresh process (upgrade-db's pre-flight runs it while the process takes its locks). Exported for the
 * upgrade benchmark's protocol floor (bench/floor/upgrade-db.ts), which sends the same statement.
 */
export const PG_CATALOG_SQL = `select json_build_object(${Object.entries(PG_READS)
  .map(
    ([key, [select, order]]) => `'${key}', (select coalesce(json_agg(x order by ${order}), '[]') from (${select}) x)`,
  )
  .join(',\n')})::text as doc`

async function introspectPg(db: Db): Promise<NormalisedSchema> {
  const [row] = await q<{ doc: string }>(db, PG_CATALOG_SQL)
  const { tables, cols, cons, idx, idxCols, seqs, exts, funcs } = JSON.parse(row!.doc) as PgCatalog

  const colsByIdx = new Map<number, string[]>()
  for (const r of idxCols) {
    const a = colsByIdx.get(r.oid) ?? []
    a.push(r.expr)
    colsByIdx.set(r.oid, a)
  }
  const colsOf = groupBy(cols, (c) => c.rel)
  const consOf = groupBy(cons, (c) => c.rel)
  const idxOf = groupBy(idx, (i) => i.rel)
  const out: NTable[] = []
  const ignoredRels = new Set<number>()
  for (const t of tables) {
    if (isIgnoredTable(t.name)) {
      ignoredRels.add(t.oid)
      continue
    }
    const table: NTable = {
      name: t.name,
      columns: [],
      primaryKey: null,
      uniques: [],
      foreignKeys: [],
      checks: [],
      indexes: [],
      ...(t.comment ? { comment: t.comment } : {}),
    }
    for (const c of colsOf(t.oid)) {
      table.columns.push({
        name: c.name,
        type: c.type,
        nullable: !c.notnull,
        default: c.def,
        ...(c.comment != null ? { comment: c.comment } : {}),
        ...(c.identity ? { identity: c.identity } : {}),
        ...(c.generated === 's' ? { generated: 'stored' as const } : {}),
      })
    }
    for (const c of consOf(t.oid)) {
      if (c.type === 'p') table.primaryKey = { name: c.name, columns: c.cols ?? [] }
      else if (c.type === 'u') table.uniques.push({ name: c.name, columns: c.cols ?? [] })
      else if (c.type === 'f') table.foreignKeys.push({ name: c.name, definition: c.def })
      else table.checks.push({ name: c.name, definition: c.def })
    }
    for (const i of idxOf(t.oid)) {
      const exprs = colsByIdx.get(i.oid) ?? []
      const opts = i.options.split(/\s+/).map(Number)
      const columns = exprs.slice(0, i.nkey).map((e, k) => {
        const o = opts[k] ?? 0
        const desc = (o & 1) !== 0
        const nullsFirst = (o & 2) !== 0
        let s = e
        if (desc) s += ' DESC'
        if (desc && !nullsFirst) s += ' NULLS LAST'
        if (!desc && nullsFirst) s += ' NULLS FIRST'
        return s
      })
      table.indexes.push({
        name: i.name,
        unique: i.unique,
        method: i.method,
        columns,
        ...(i.natts > i.nkey ? { include: exprs.slice(i.nkey) } : {}),
        ...(i.pred ? { predicate: i.pred } : {}),
      })
    }
    table.uniques.sort(byName)
    table.foreignKeys.sort(byName)
    table.checks.sort(byName)
    table.indexes.sort(byName)
    out.push(table)
  }
  const sequences = seqs
    .filter((s) => !(s.owned && isIgnoredTable(s.owned.split('.')[0]!)) && !isIgnoredTable(s.name))
    .map((s) => ({
      name: s.name,
      type: s.type,
      start: s.start,
      increment: s.inc,
      min: s.min,
      max: s.max,
      cycle: s.cycle,
      ownedBy: s.owned,
    }))
  return {
    dialect: 'postgres',
    tables: out,
    sequences,
    extensions: exts.map((e) => e.name),
    functions: funcs.map((f) => ({ ...f })),
  }
}

// ---------------------------------------------------------------- MySQL / MariaDB

async function introspectMysql(db: Db): Promise<NormalisedSchema> {
  const version = (await q<{ v: string }>(db, 'select version() as v'))[0]?.v ?? ''
  const mariadb = /mariadb/i.test(version)
  const tables = await q<{ name: string; comment: string }>(
    db,
    `select table_name as name, table_comment as comment from information_schema.tables
      where table_schema = database() and table_type = 'BASE TABLE' order by table_name`,
  )
  const cols = await q<{
    tbl: string
    name: string
    type: string
    dtype: string
    nullable: string
    def: string | null
    extra: string
    comment: string
    gen: string | null
  }>(
    db,
    `select table_name as tbl, column_name as name, column_type as type, data_type as dtype, is_nullable as nullable,
            column_default as def, extra, column_comment as comment, generation_expression as gen
       from information_schema.columns where table_schema = database() order by table_name, ordinal_position`,
  )
  const checks = await q<{ tbl: string; name: string; clause: string }>(
    db,
    mariadb
      ? `select table_name as tbl, constraint_name as name, check_clause as clause from information_schema.check_constraints where constraint_schema = database()`
      : `select tc.table_name as tbl, cc.constraint_name as name, cc.check_clause as clause
           from information_schema.check_constraints cc join information_schema.table_constraints tc
             on tc.constraint_schema = cc.constraint_schema and tc.constraint_name = cc.constraint_name and tc.constraint_type = 'CHECK'
          where cc.constraint_schema = database()`,
  )
  const stats = await q<{
    tbl: string
    name: string
    nonUnique: number | string
    seq: number
    col: string | null
    sub: number | null
    coll: string | null
    type: string
    expr?: string | null
  }>(
    db,
    `select table_name as tbl, index_name as name, non_unique as nonUnique, seq_in_index as seq, column_name as col,
            sub_part as sub, collation as coll, index_type as type${mariadb ? '' : ', expression as expr'}
       from information_schema.statistics where table_schema = database() order by table_name, index_name, seq_in_index`,
  )
  const fks = await q<{ tbl: string; name: string; col: string; rtbl: string; rcol: string; upd: string; del: string }>(
    db,
    `select k.table_name as tbl, k.constraint_name as name, k.column_name as col, k.referenced_table_name as rtbl,
            k.referenced_column_name as rcol, r.update_rule as upd, r.delete_rule as del
       from information_schema.key_column_usage k join information_schema.referential_constraints r
         on r.constraint_schema = k.constraint_schema and r.constraint_name = k.constraint_name and r.table_name = k.table_name
      where k.table_schema = database() and k.referenced_table_name is not null order by k.table_name, k.constraint_name, k.ordinal_position`,
  )

  const jsonCols = new Set<string>()
  const jsonCheck = /^json_valid\(`([^`]+)`\)$/i
  for (const c of checks) {
    const m = jsonCheck.exec(c.clause.trim())
    if (m && m[1] === c.name) jsonCols.add(`${c.tbl}.${c.name}`)
  }
  const colsOf = groupBy(cols, (c) => c.tbl)
  const checksOf = groupBy(checks, (c) => c.tbl)
  const statsOf = groupBy(stats, (x) => x.tbl)
  const fksOf = groupBy(fks, (f) => f.tbl)
  const out: NTable[] = []
  for (const t of tables) {
    if (isIgnoredTable(t.name)) continue
    const table: NTable = {
      name: t.name,
      columns: [],
      primaryKey: null,
      uniques: [],
      foreignKeys: [],
      checks: [],
      indexes: [],
      ...(t.comment ? { comment: t.comment } : {}),
    }
    for (const c of colsOf(t.name)) {
      let type = c.type
        .toLowerCase()
        .replace(/^(tinyint|smallint|mediumint|int|bigint)\((\d+)\)/, (m0, base: string, w: string) =>
          base === 'tinyint' && w === '1' ? m0 : base,
        )
      if (jsonCols.has(`${t.name}.${c.name}`) && c.dtype.toLowerCase() === 'longtext') type = 'json'
      const extra = c.extra.toLowerCase()
      const onUpdate = /on update (\S+)/.exec(extra)?.[1]
      const generated = /\b(stored|virtual|persistent) generated\b/.exec(extra)?.[1]
      table.columns.push({
        name: c.name,
        type,
        nullable: c.nullable === 'YES',
        default: generated ? (c.gen ?? null) : normaliseMysqlDefault(c.def, c.dtype.toLowerCase(), extra, mariadb),
        ...(generated ? { generated: generated === 'virtual' ? ('virtual' as const) : ('stored' as const) } : {}),
        ...(c.comment ? { comment: c.comment } : {}),
        ...(extra.includes('auto_increment') ? { autoIncrement: true as const } : {}),
        ...(onUpdate ? { onUpdate: normaliseMysqlExpr(onUpdate) } : {}),
      })
    }
    for (const c of checksOf(t.name)) {
      if (jsonCols.has(`${t.name}.${c.name}`) && jsonCheck.test(c.clause.trim())) continue
      table.checks.push({ name: c.name, definition: c.clause })
    }
    const byIndex = new Map<string, typeof stats>()
    for (const s of statsOf(t.name)) {
      const a = byIndex.get(s.name) ?? []
      a.push(s)
      byIndex.set(s.name, a)
    }
    for (const [name, parts] of byIndex) {
      const columns = parts.map((p) => {
        let s = p.col ?? `(${p.expr ?? '?'})`
        if (p.sub != null) s += `(${p.sub})`
        if (p.coll === 'D') s += ' DESC'
        return s
      })
      if (name === 'PRIMARY') {
        table.primaryKey = { name: null, columns }
        continue
      }
      table.indexes.push({
        name,
        unique: Number(parts[0]!.nonUnique) === 0,
        method: parts[0]!.type.toLowerCase(),
        columns,
      })
    }
    const byFk = new Map<string, typeof fks>()
    for (const f of fksOf(t.name)) {
      const a = byFk.get(f.name) ?? []
      a.push(f)
      byFk.set(f.name, a)
    }
    for (const [name, parts] of byFk) {
      const p0 = parts[0]!
      let def = `FOREIGN KEY (${parts.map((p) => p.col).join(', ')}) REFERENCES ${p0.rtbl}(${parts.map((p) => p.rcol).join(', ')})`
      if (p0.upd !== 'RESTRICT' && p0.upd !== 'NO ACTION') def += ` ON UPDATE ${p0.upd}`
      if (p0.del !== 'RESTRICT' && p0.del !== 'NO ACTION') def += ` ON DELETE ${p0.del}`
      table.foreignKeys.push({ name, definition: def })
    }
    table.checks.sort(byName)
    table.indexes.sort(byName)
    table.foreignKeys.sort(byName)
    out.push(table)
  }
  return { dialect: 'mysql', tables: out, sequences: [], extensions: [], functions: [] }
}

function normaliseMysqlExpr(e: string): string {
  return e.replace(/^current_timestamp(\(\))?$/i, 'CURRENT_TIMESTAMP').replace(/^now\(\)$/i, 'CURRENT_TIMESTAMP')
}

const NUMERIC = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'decimal',
  'numeric',
  'float',
  'double',
  'real',
  'bit',
])

/**
 * MariaDB (10.2.7+) reports defaults as SQL (string literals quoted, `NULL` for no default on a nullable column,
 * expressions as written); MySQL 8 reports the bare value (NULL for none) and flags expressions with
 * DEFAULT_GENERATED. Both are brought to one form: null, a quoted string literal, a number, or an expression.
 */
function normaliseMysqlDefault(def: string | null, dtype: string, extra: string, mariadb: boolean): string | null {
  if (def == null) return null
  if (mariadb) {
    if (def === 'NULL') return null
    if (/^'.*'$/s.test(def)) return NUMERIC.has(dtype) ? String(Number(def.slice(1, -1).replace(/''/g, "'"))) : def
    if (NUMERIC.has(dtype) && /^-?[\d.]+(e[-+]?\d+)?$/i.test(def)) return String(Number(def))
    return normaliseMysqlExpr(def)
  }
  if (extra.includes('default_generated')) {
    const e = normaliseMysqlExpr(def)
    return e === 'CURRENT_TIMESTAMP' ? e : `(${e})`
  }
  if (NUMERIC.has(dtype)) return String(Number(def))
  return `'${def.replace(/'/g, "''")}'`
}

// ---------------------------------------------------------------- comparison

/** Human-readable differences between two normalised schemas (empty when identical). `a` is "expected". */
export function diffSchemas(
  a: NormalisedSchema,
  b: NormalisedSchema,
  labels: [string, string] = ['expected', 'actual'],
): string[] {
  const out: string[] = []
  const [la, lb] = labels
  const j = (v: unknown) => JSON.stringify(v)
  const keyed = <T>(
    what: string,
    xs: T[],
    ys: T[],
    key: (x: T) => string,
    cmp: (x: T, y: T, where: string) => void,
  ) => {
    const mx = new Map(xs.map((x) => [key(x), x]))
    const my = new Map(ys.map((y) => [key(y), y]))
    for (const [k, x] of mx) {
      const y = my.get(k)
      if (!y) out.push(`${what} ${k}: only in ${la}`)
      else cmp(x, y, `${what} ${k}`)
    }
    for (const k of my.keys()) if (!mx.has(k)) out.push(`${what} ${k}: only in ${lb}`)
  }
  const eq = (where: string, x: unknown, y: unknown) => {
    if (j(x) !== j(y)) out.push(`${where}: ${la} ${j(x)} ≠ ${lb} ${j(y)}`)
  }
  keyed(
    'extension',
    a.extensions,
    b.extensions,
    (x) => x,
    () => {},
  )
  keyed(
    'function',
    a.functions,
    b.functions,
    (f) => `${f.name}(${f.args})`,
    (x, y, w) => eq(w, x, y),
  )
  keyed(
    'sequence',
    a.sequences,
    b.sequences,
    (s) => s.name,
    (x, y, w) => eq(w, x, y),
  )
  keyed(
    'table',
    a.tables,
    b.tables,
    (t) => t.name,
    (x, y, w) => {
      keyed(
        `${w} column`,
        x.columns,
        y.columns,
        (c) => c.name,
        (cx, cy, cw) => {
          for (const k of new Set([...Object.keys(cx), ...Object.keys(cy)]) as Set<keyof NColumn>)
            eq(`${cw} ${k}`, cx[k] ?? null, cy[k] ?? null)
        },
      )
      const ox = x.columns.map((c) => c.name).filter((n) => y.columns.some((c) => c.name === n))
      const oy = y.columns.map((c) => c.name).filter((n) => x.columns.some((c) => c.name === n))
      if (j(ox) !== j(oy)) out.push(`${w}: column order ${la} ${ox.join(',')} ≠ ${lb} ${oy.join(',')}`)
      eq(`${w} primary key`, x.primaryKey, y.primaryKey)
      eq(`${w} comment`, x.comment ?? null, y.comment ?? null)
      keyed(
        `${w} unique`,
        x.uniques,
        y.uniques,
        (u) => u.name,
        (ux, uy, uw) => eq(uw, ux, uy),
      )
      keyed(
        `${w} foreign key`,
        x.foreignKeys,
        y.foreignKeys,
        (u) => u.name,
        (ux, uy, uw) => eq(uw, ux, uy),
      )
      keyed(
        `${w} check`,
        x.checks,
        y.checks,
        (u) => u.name,
        (ux, uy, uw) => eq(uw, ux, uy),
      )
      keyed(
        `${w} index`,
        x.indexes,
        y.indexes,
        (u) => u.name,
        (ux, uy, uw) => eq(uw, ux, uy),
      )
    },
  )
  return out
}
