/**
 * Turn a declarative schema description (model.ts) into ordered DDL statements for PostgreSQL or MySQL, through
 * Kysely's schema builder (compile.ts). The same helpers build the tables of later revisions.
 *
 * MySQL rules (Dify's `_is_pg` branches and `models/types.py`; details and upstream paths in docs/migrations.md):
 * types per model.ts; no DB-side uuid defaults (`uuid_generate_v4()`, `uuidv7()`); no server default on
 * TEXT/LONGTEXT/JSON columns; casts dropped from literal defaults; booleans as 1/0; CURRENT_TIMESTAMP(0) and now()
 * as CURRENT_TIMESTAMP; `nextval(…)` defaults as AUTO_INCREMENT; gin indexes are PostgreSQL only; no extensions,
 * sequences or functions.
 */
import { sql } from 'kysely'
import type { ColumnDefinitionBuilder, CreateTableBuilder } from 'kysely'
import { ddl, lit, raw, stmt } from '../compile.js'
import type { SqlDialect, Statement } from '../types.js'
import type { ColumnSpec, IndexSpec, SchemaSpec, TableSpec } from './model.js'

export function pgType(t: string): string {
  const m = /^(\w+)(\(.*\))?(\[\])?$/.exec(t)
  if (!m) return t
  const [, base, args = '', arr = ''] = m
  const map: Record<string, string> = {
    uuid: 'uuid',
    varchar: 'varchar',
    text: 'text',
    longtext: 'text',
    json: 'json',
    jsonb: 'jsonb',
    boolean: 'boolean',
    int: 'integer',
    bigint: 'bigint',
    smallint: 'smallint',
    float: 'double precision',
    real: 'real',
    numeric: 'numeric',
    timestamp: 'timestamp',
    timestamptz: 'timestamptz',
    bytea: 'bytea',
    serial: 'serial',
  }
  return (map[base!] ?? base) + args + arr
}

export function mysqlType(c: ColumnSpec): string {
  if (c.mysql?.type) return c.mysql.type
  const m = /^(\w+)(\(.*\))?(\[\])?$/.exec(c.type)
  if (!m) return c.type
  const [, base, args = '', arr] = m
  if (arr) return 'json'
  switch (base) {
    case 'uuid':
      return 'char(36)'
    case 'varchar':
      return args ? `varchar${args}` : 'varchar(255)'
    case 'text':
      return 'text'
    case 'longtext':
      return 'longtext'
    case 'json':
    case 'jsonb':
      return 'json'
    case 'boolean':
      return 'tinyint(1)'
    case 'int':
    case 'serial':
      return 'int'
    case 'float':
      return 'float'
    case 'numeric':
      return args ? `decimal${args}` : 'decimal(10,0)'
    case 'timestamp':
    case 'timestamptz':
      return 'datetime'
    case 'bytea':
      return 'longblob'
    default:
      return base! + args
  }
}

const TEXTLIKE = /^(text|longtext|json|jsonb)$|\[\]$/

/** The MySQL server default of a column (normalised form, as introspect.ts prints MySQL defaults), or null. */
export function mysqlDefault(c: ColumnSpec): string | null {
  if (c.mysql && 'default' in c.mysql) return c.mysql.default ?? null
  const d = c.default
  if (d == null) return null
  if (TEXTLIKE.test(c.type)) return null
  if (/^(uuid_generate_v4|uuidv7|gen_random_uuid)\(\)$/i.test(d)) return null
  if (/^nextval\(/i.test(d)) return null
  if (/^(CURRENT_TIMESTAMP(\(\d*\))?|now\(\))$/i.test(d)) return 'CURRENT_TIMESTAMP'
  if (d === 'true') return '1'
  if (d === 'false') return '0'
  const lit1 = /^'((?:[^']|'')*)'(::[\w\s]+(\(\d+(,\d+)?\))?)?$/.exec(d)
  if (lit1) {
    const v = lit1[1]!
    if (/^(int|bigint|smallint|float|numeric|boolean)/.test(c.type)) return String(Number(v.replace(/''/g, "'")))
    return `'${v}'`
  }
  if (/^-?\d+(\.\d+)?$/.test(d)) return String(Number(d))
  if (/^\(-?\d+(\.\d+)?\)$/.test(d)) return String(Number(d.slice(1, -1)))
  throw new Error(`no MySQL rule for the default ${d} of column ${c.name}`)
}

export function mysqlAutoIncrement(c: ColumnSpec): boolean {
  if (c.mysql?.autoIncrement !== undefined) return c.mysql.autoIncrement
  return c.type === 'serial' || /^nextval\(/i.test(c.default ?? '')
}

function columnBuilder(dialect: SqlDialect, c: ColumnSpec) {
  return (col: ColumnDefinitionBuilder): ColumnDefinitionBuilder => {
    if (c.generated != null) {
      col = col.generatedAlwaysAs(sql.raw(c.generated))
      if (dialect === 'postgres') col = col.stored()
      return c.notNull ? col.notNull() : col
    }
    if (dialect === 'postgres') {
      if (c.default != null && c.type !== 'serial') col = col.defaultTo(sql.raw(c.default))
      if (c.notNull) col = col.notNull()
      return col
    }
    if (c.notNull) col = col.notNull()
    if (mysqlAutoIncrement(c)) col = col.autoIncrement()
    const d = mysqlDefault(c)
    if (d != null) col = col.defaultTo(sql.raw(d))
    if (c.comment != null) col = col.modifyEnd(sql.raw(`comment ${lit('mysql', c.comment)}`))
    return col
  }
}

function columnType(dialect: SqlDialect, c: ColumnSpec) {
  return sql.raw(dialect === 'postgres' ? pgType(c.type) : mysqlType(c))
}

/** CREATE TABLE (with primary key, unique and foreign key constraints), its indexes, and its PG column comments. */
export function renderTable(dialect: SqlDialect, t: TableSpec): Statement[] {
  const k = ddl(dialect)
  let b: CreateTableBuilder<string, string> = k.schema.createTable(t.name)
  for (const c of t.columns) b = b.addColumn(c.name, columnType(dialect, c), columnBuilder(dialect, c))
  if (t.primaryKey) b = b.addPrimaryKeyConstraint(t.primaryKey.name, t.primaryKey.columns as never)
  for (const u of t.uniques ?? []) b = b.addUniqueConstraint(u.name, u.columns as never)
  for (const f of t.foreignKeys ?? []) {
    b = b.addForeignKeyConstraint(f.name, f.columns as never, f.refTable, f.refColumns, (fk) =>
      f.onDelete ? fk.onDelete(f.onDelete) : fk,
    )
  }
  const out: Statement[] = [stmt(dialect, b, { table: t.name })]
  for (const i of t.indexes ?? []) out.push(...renderIndex(dialect, t.name, i))
  if (dialect === 'postgres') {
    for (const c of t.columns) if (c.comment != null) out.push(commentOnColumn(t.name, c.name, c.comment))
  }
  return out
}

export function commentOnColumn(table: string, column: string, comment: string): Statement {
  return raw(`COMMENT ON COLUMN ${table}.${column} IS ${lit('postgres', comment)}`, { table })
}

/** CREATE INDEX for `dialect` (nothing on MySQL for PG-only indexes). */
export function renderIndex(dialect: SqlDialect, table: string, i: IndexSpec): Statement[] {
  if (dialect === 'mysql' && (i.mysql === false || (i.method && i.method !== 'btree'))) return []
  const k = ddl(dialect)
  let b = k.schema.createIndex(i.name).on(table)
  if (i.unique) b = b.unique()
  if (dialect === 'postgres' && i.method && i.method !== 'btree') b = b.using(i.method)
  const cols = dialect === 'mysql' && i.mysql ? i.mysql.columns : i.columns
  const plain = cols.every((c) => /^\w+( (ASC|DESC))?$/i.test(c))
  if (plain) b = b.columns(cols.map((c) => c.replace(/ (asc|desc)$/i, (m) => m.toLowerCase())) as never)
  else b = b.expression(sql.raw(cols.join(', ')))
  if (dialect === 'postgres' && i.predicate) b = b.where(sql.raw<boolean>(i.predicate))
  return [stmt(dialect, b, { table })]
}

/** ALTER TABLE … ADD COLUMN for `dialect`. */
export function renderAddColumn(dialect: SqlDialect, table: string, c: ColumnSpec): Statement[] {
  const k = ddl(dialect)
  const out = [
    stmt(dialect, k.schema.alterTable(table).addColumn(c.name, columnType(dialect, c), columnBuilder(dialect, c)), {
      table,
    }),
  ]
  if (dialect === 'postgres' && c.comment != null) out.push(commentOnColumn(table, c.name, c.comment))
  return out
}

/** Our own definitions of the SQL functions Dify creates in revision 1c9ba48be8e4 (same names, signatures and results). */
const FUNCTIONS: Record<string, string[]> = {
  // uuidv7(): 48-bit Unix time in milliseconds, version 7, and the random bits of a v4 uuid (variant kept).
  // PostgreSQL 18 has a native pg_catalog.uuidv7(); as Dify does since 1.13 (#36998) ours is created only without it.
  uuidv7: [
    `DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE p.proname = 'uuidv7' AND n.nspname = 'pg_catalog') THEN
    CREATE FUNCTION uuidv7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $fn$
      SELECT (lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
              || '7' || substr(g, 16, 3) || substr(g, 20, 4) || substr(g, 25, 12))::uuid
        FROM (SELECT gen_random_uuid()::text AS g) AS r
    $fn$;
    COMMENT ON FUNCTION uuidv7() IS 'A time-ordered uuid (version 7): 48-bit millisecond timestamp, then random bits';
  END IF;
END
$do$`,
  ],
  // uuidv7_boundary(ts): the smallest version-7 uuid of that millisecond (all random bits zero)
  uuidv7_boundary: [
    `CREATE FUNCTION uuidv7_boundary(timestamptz) RETURNS uuid LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT (lpad(to_hex(floor(extract(epoch FROM $1) * 1000)::bigint), 12, '0') || '70008000000000000000')::uuid
$fn$`,
    `COMMENT ON FUNCTION uuidv7_boundary(timestamptz) IS 'The smallest version-7 uuid for the given timestamp, usable as a range boundary'`,
  ],
}

export function renderFunction(name: string): Statement[] {
  const f = FUNCTIONS[name]
  if (!f) throw new Error(`no definition for SQL function ${name}`)
  return f.map((s) => raw(s))
}

/** The whole schema, in creation order. */
export function renderSchema(dialect: SqlDialect, s: SchemaSpec): Statement[] {
  const out: Statement[] = []
  if (dialect === 'postgres') {
    for (const e of s.extensions) out.push(raw(`CREATE EXTENSION IF NOT EXISTS "${e}"`))
    for (const q of s.sequences) out.push(raw(`CREATE SEQUENCE ${q}`)) // Kysely 0.27 has no sequence builder
    for (const f of s.functions) out.push(...renderFunction(f)) // before the tables whose defaults call them
  }
  for (const t of s.tables) out.push(...renderTable(dialect, t))
  return out
}
