#!/usr/bin/env node
// Dev-only: generate src/migrations/baseline/schema.ts, the declarative description of Dify's schema at the
// baseline revision, from two live databases (see docs/migrations.md, "Regenerating the baseline"):
//   --pg DB     a PostgreSQL database built from Dify's offline Alembic SQL cut at the baseline revision
//               (test/support/dify-schema.ts loadOracleSchema)
//   --mysql DB  (optional) a MariaDB/MySQL database built by Dify's own migrations (MySQL dialect) at the same
//               revision; used to check the MySQL rules of render.ts and to record the exceptions per column.
// Run with tsx (npm run gen:baseline -- --pg DB [--mysql DB]): it imports the TypeScript sources.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values } = parseArgs({
  options: {
    pg: { type: 'string' },
    mysql: { type: 'string' },
    revision: { type: 'string', default: 'd57accd375ae' },
    out: { type: 'string' },
  },
})
if (!values.pg) {
  console.error('usage: node scripts/gen-baseline.mjs --pg DB [--mysql DB] [--revision REV] [--out FILE]')
  process.exit(2)
}
const { loadConfig } = await import(`${root}src/config/schema.ts`)
const { openDb } = await import(`${root}src/runtime/db.ts`)
const { introspectSchema } = await import(`${root}src/migrations/schema/introspect.ts`)
const { mysqlType, mysqlDefault, mysqlAutoIncrement } = await import(`${root}src/migrations/baseline/render.ts`)

async function read(type, database) {
  const env =
    type === 'pg'
      ? {
          DB_TYPE: 'postgresql',
          DB_HOST: '127.0.0.1',
          DB_PORT: '5432',
          DB_USERNAME: 'postgres',
          DB_PASSWORD: '',
          DB_DATABASE: database,
        }
      : {
          DB_TYPE: 'mysql',
          DB_HOST: '127.0.0.1',
          DB_PORT: '3306',
          DB_USERNAME: 'root',
          DB_PASSWORD: '',
          DB_DATABASE: database,
        }
  const db = await openDb(loadConfig({ env, noDotenv: true }).db, { connectTimeoutMs: 5000 })
  try {
    return await introspectSchema(db, { includeAlembicVersion: false })
  } finally {
    await db.close()
  }
}

const pg = await read('pg', values.pg)
const my = values.mysql ? await read('mysql', values.mysql) : null
const myTables = new Map((my?.tables ?? []).map((t) => [t.name, t]))
const problems = []

function logical(pgTypeName, col, myCol, ownedSeq) {
  if (ownedSeq && pgTypeName === 'integer') return 'serial'
  const arr = pgTypeName.endsWith('[]') ? '[]' : ''
  const base = arr ? pgTypeName.slice(0, -2) : pgTypeName
  let m
  if ((m = /^character varying(\(\d+\))?$/.exec(base))) return `varchar${m[1] ?? ''}${arr}`
  if ((m = /^numeric(\(\d+,\d+\))?$/.exec(base))) return `numeric${m[1] ?? ''}${arr}`
  const map = {
    uuid: 'uuid',
    text: 'text',
    json: 'json',
    jsonb: 'jsonb',
    boolean: 'boolean',
    integer: 'int',
    bigint: 'bigint',
    smallint: 'smallint',
    'double precision': 'float',
    real: 'real',
    'timestamp without time zone': 'timestamp',
    'timestamp with time zone': 'timestamptz',
    bytea: 'bytea',
  }
  const t = map[base]
  if (!t) throw new Error(`no logical type for ${pgTypeName} (${col})`)
  if (t === 'text' && !arr && myCol?.type === 'longtext') return 'longtext'
  return t + arr
}

const parseFk = (def) => {
  const m = /^FOREIGN KEY \(([^)]*)\) REFERENCES (\w+)\(([^)]*)\)$/.exec(def)
  if (!m) throw new Error(`unsupported foreign key ${def}`)
  const split = (s) => s.split(',').map((x) => x.trim())
  return { columns: split(m[1]), refTable: m[2], refColumns: split(m[3]) }
}

const owned = new Map(pg.sequences.filter((s) => s.ownedBy).map((s) => [s.ownedBy, s.name]))
const tables = []
for (const t of pg.tables) {
  const mt = myTables.get(t.name)
  if (my && !mt) problems.push(`table ${t.name} is missing on MySQL`)
  const myCols = new Map((mt?.columns ?? []).map((c) => [c.name, c]))
  const columns = []
  for (const c of t.columns) {
    const mc = myCols.get(c.name)
    if (my && mt && !mc) problems.push(`column ${t.name}.${c.name} is missing on MySQL`)
    const spec = { name: c.name, type: logical(c.type, `${t.name}.${c.name}`, mc, owned.get(`${t.name}.${c.name}`)) }
    if (!c.nullable) spec.notNull = true
    if (c.default != null) spec.default = c.default
    if (c.comment != null) spec.comment = c.comment
    if (mc) {
      const ov = {}
      if (mysqlType(spec) !== mc.type) ov.type = mc.type
      let rule
      try {
        rule = mysqlDefault(spec)
      } catch {
        rule = undefined
      }
      if (rule !== mc.default) ov.default = mc.default
      if (mysqlAutoIncrement(spec) !== Boolean(mc.autoIncrement)) ov.autoIncrement = Boolean(mc.autoIncrement)
      if ((mc.comment ?? null) !== (c.comment ?? null))
        problems.push(`column ${t.name}.${c.name}: comment differs on MySQL`)
      if (mc.nullable !== c.nullable) problems.push(`column ${t.name}.${c.name}: nullability differs on MySQL`)
      if (mc.onUpdate) problems.push(`column ${t.name}.${c.name}: ON UPDATE on MySQL`)
      if (Object.keys(ov).length) spec.mysql = ov
    }
    columns.push(spec)
  }
  if (mt) {
    const a = t.columns.map((c) => c.name).join(',')
    const b = mt.columns.map((c) => c.name).join(',')
    if (a !== b) problems.push(`table ${t.name}: column order or set differs on MySQL: ${b}`)
  }
  const spec = { name: t.name, columns }
  if (t.primaryKey) spec.primaryKey = t.primaryKey
  if (mt && t.primaryKey && JSON.stringify(mt.primaryKey?.columns) !== JSON.stringify(t.primaryKey.columns))
    problems.push(`table ${t.name}: primary key differs on MySQL`)
  if (t.uniques.length) spec.uniques = t.uniques
  if (t.foreignKeys.length) spec.foreignKeys = t.foreignKeys.map((f) => ({ name: f.name, ...parseFk(f.definition) }))
  if (t.checks.length) problems.push(`table ${t.name}: check constraints are not supported by the generator`)
  const myIdx = new Map((mt?.indexes ?? []).map((i) => [i.name, i]))
  const expectedOnMy = new Set()
  for (const u of t.uniques) expectedOnMy.add(u.name)
  for (const f of t.foreignKeys) expectedOnMy.add(f.name) // MySQL/InnoDB backs a foreign key with an index of its name when none fits
  const idx = []
  for (const i of t.indexes) {
    const s = { name: i.name, columns: i.columns }
    if (i.unique) s.unique = true
    if (i.method !== 'btree') s.method = i.method
    if (i.predicate) s.predicate = i.predicate
    if (i.include) problems.push(`index ${i.name}: INCLUDE columns are not supported by the generator`)
    if (mt) {
      const mi = myIdx.get(i.name)
      const ruleOnMy = s.method === undefined
      if (!mi && ruleOnMy) s.mysql = false
      if (mi && !ruleOnMy) problems.push(`index ${i.name} (${i.method}) exists on MySQL`)
      if (mi && JSON.stringify(mi.columns) !== JSON.stringify(i.columns)) s.mysql = { columns: mi.columns }
      if (mi && mi.unique !== i.unique) problems.push(`index ${i.name}: uniqueness differs on MySQL`)
      expectedOnMy.add(i.name)
    }
    idx.push(s)
  }
  if (mt)
    for (const name of myIdx.keys())
      if (!expectedOnMy.has(name)) problems.push(`index ${t.name}.${name} exists only on MySQL`)
  if (idx.length) spec.indexes = idx
  tables.push(spec)
}
if (my)
  for (const t of my.tables)
    if (!pg.tables.some((p) => p.name === t.name) && t.name !== 'alembic_version')
      problems.push(`table ${t.name} exists only on MySQL`)

// creation order: by name, but a table after the tables its foreign keys reference
const ordered = []
const done = new Set()
const visit = (t) => {
  if (done.has(t.name)) return
  done.add(t.name)
  for (const f of t.foreignKeys ?? []) {
    const ref = tables.find((x) => x.name === f.refTable)
    if (ref && ref !== t) visit(ref)
  }
  ordered.push(t)
}
for (const t of tables) visit(t)

const q = (v) => JSON.stringify(v)
const objText = (o) =>
  '{ ' +
  Object.entries(o)
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null && !Array.isArray(v) ? objText(v) : q(v)}`)
    .join(', ') +
  ' }'
const lines = []
lines.push(
  `// Generated by scripts/gen-baseline.mjs from Dify's schema at ${values.revision} (PostgreSQL${my ? ' and MySQL' : ''}). Do not edit by hand.`,
)
lines.push(`// The declarative description rendered by ./render.ts; see docs/migrations.md.`)
lines.push(`import type { SchemaSpec } from './model.js'`)
lines.push('')
lines.push(`export const BASELINE_REVISION = ${q(values.revision)}`)
lines.push('')
lines.push('export const BASELINE_SCHEMA: SchemaSpec = {')
lines.push(`  extensions: ${q(pg.extensions)},`)
lines.push(`  sequences: ${q(pg.sequences.filter((s) => !s.ownedBy).map((s) => s.name))},`)
lines.push(`  functions: ${q(pg.functions.map((f) => f.name))},`)
lines.push('  tables: [')
for (const t of ordered) {
  lines.push('    {')
  lines.push(`      name: ${q(t.name)},`)
  lines.push('      columns: [')
  for (const c of t.columns) lines.push(`        ${objText(c)},`)
  lines.push('      ],')
  if (t.primaryKey) lines.push(`      primaryKey: ${objText(t.primaryKey)},`)
  if (t.uniques) lines.push(`      uniques: [${t.uniques.map(objText).join(', ')}],`)
  if (t.foreignKeys) lines.push(`      foreignKeys: [${t.foreignKeys.map(objText).join(', ')}],`)
  if (t.indexes) {
    lines.push('      indexes: [')
    for (const i of t.indexes) lines.push(`        ${objText(i)},`)
    lines.push('      ],')
  }
  lines.push('    },')
}
lines.push('  ],')
lines.push('}')
const out = values.out ?? `${root}src/migrations/baseline/schema.ts`
writeFileSync(out, lines.join('\n') + '\n')
console.log(`wrote ${out}: ${ordered.length} tables`)
if (problems.length) {
  console.error(`${problems.length} MySQL differences the description cannot express:\n  ${problems.join('\n  ')}`)
  process.exitCode = 1
}
