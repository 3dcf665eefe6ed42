/**
 * Schema verification: the live schema against the exact schema expected at the database's `alembic_version`
 * (facts.ts), object by object, each difference attributed to the revision that creates, changes or drops the
 * object. The core of `db status` (half-applied upgrades), upgrade-db's pre-flight and `db verify` (issue #19).
 *
 * Suggestions are made only when they are safe:
 * - the live schema is exactly the schema of another revision R' → `dify db stamp R'` (alembic_version behind or
 *   ahead of the schema); then `dify upgrade-db`;
 * - only INVALID indexes (a failed CREATE INDEX CONCURRENTLY): rebuild them (REINDEX … CONCURRENTLY) or, for an
 *   index of a pending revision, drop it and rerun;
 * - the only differences are objects created by the NEXT pending revision, every new table empty: the upgrade to it
 *   stopped half-way; drop them (statements given) and rerun;
 * - anything else: no automatic fix is offered (manual review).
 */
import { sql } from 'kysely'
import type { Db } from '../../core/db.js'
import { introspectSchema, type NormalisedSchema, type NTable } from './introspect.js'
import { loadSchemaFacts, type SchemaFacts } from './facts.js'

export type DifferenceKind = 'missing' | 'extra' | 'changed' | 'invalid-index'
export type ObjectKind =
  | 'table'
  | 'column'
  | 'index'
  | 'unique'
  | 'primary key'
  | 'foreign key'
  | 'check'
  | 'function'
  | 'sequence'
  | 'extension'

export interface SchemaDifference {
  kind: DifferenceKind
  object: ObjectKind
  table: string | null
  name: string
  /** one readable line */
  message: string
  /** the revision that creates / changes / drops the object (null: unknown to the chain, e.g. added by hand) */
  revision: string | null
  action: 'creates' | 'changes' | 'drops' | null
  /** the attributed revision is after the database's revision (not applied yet according to alembic_version) */
  pending: boolean
}

export interface Suggestion {
  kind: 'none' | 'stamp' | 'rebuild-index' | 'drop-and-rerun' | 'manual'
  message: string
  /** commands / SQL to run, in order */
  steps: string[]
}

export interface VerifyResult {
  dialect: 'postgres' | 'mysql'
  revision: string | null
  /** the facts know this revision (else nothing could be compared) */
  known: boolean
  differences: SchemaDifference[]
  /** a revision whose expected schema equals the live schema exactly, other than `revision` (null: none) */
  matches: string | null
  suggestion: Suggestion
}

// ---------------------------------------------------------------- objects and their keys

type Getter = (s: NormalisedSchema) => unknown

interface ObjRef {
  key: string
  object: ObjectKind
  table: string | null
  name: string
  get: Getter
}

/**
 * Each schema's tables by name, built once per schema while one comparison runs (every object's getter looks its
 * table up; a linear search made comparing two schemas quadratic). Reset at the start of each comparison, so a
 * caller that changes a schema between two calls is never answered from an old index.
 */
let tableIndex = new WeakMap<NTable[], Map<string, NTable>>()
function tableOf(s: NormalisedSchema, t: string): NTable | undefined {
  let m = tableIndex.get(s.tables)
  if (!m) tableIndex.set(s.tables, (m = new Map(s.tables.map((x) => [x.name, x]))))
  return m.get(t)
}

/** Every comparable object of a schema (column order is not compared: no upgrade step can change it). */
function objects(s: NormalisedSchema): ObjRef[] {
  const out: ObjRef[] = []
  for (const t of s.tables) {
    const tn = t.name
    out.push({
      key: `table:${tn}`,
      object: 'table',
      table: tn,
      name: tn,
      get: (x) => (tableOf(x, tn) ? true : undefined),
    })
    for (const c of t.columns)
      out.push({
        key: `column:${tn}.${c.name}`,
        object: 'column',
        table: tn,
        name: c.name,
        get: (x) => tableOf(x, tn)?.columns.find((y) => y.name === c.name),
      })
    out.push({
      key: `pk:${tn}`,
      object: 'primary key',
      table: tn,
      name: t.primaryKey?.name ?? 'PRIMARY',
      get: (x) => tableOf(x, tn)?.primaryKey ?? undefined,
    })
    for (const i of t.indexes)
      out.push({
        key: `index:${tn}.${i.name}`,
        object: 'index',
        table: tn,
        name: i.name,
        get: (x) => tableOf(x, tn)?.indexes.find((y) => y.name === i.name),
      })
    for (const u of t.uniques)
      out.push({
        key: `unique:${tn}.${u.name}`,
        object: 'unique',
        table: tn,
        name: u.name,
        get: (x) => tableOf(x, tn)?.uniques.find((y) => y.name === u.name),
      })
    for (const f of t.foreignKeys)
      out.push({
        key: `fk:${tn}.${f.name}`,
        object: 'foreign key',
        table: tn,
        name: f.name,
        get: (x) => tableOf(x, tn)?.foreignKeys.find((y) => y.name === f.name),
      })
    for (const c of t.checks)
      out.push({
        key: `check:${tn}.${c.name}`,
        object: 'check',
        table: tn,
        name: c.name,
        get: (x) => tableOf(x, tn)?.checks.find((y) => y.name === c.name),
      })
  }
  for (const f of s.functions) {
    const id = `${f.name}(${f.args})`
    out.push({
      key: `function:${id}`,
      object: 'function',
      table: null,
      name: id,
      get: (x) => x.functions.find((y) => `${y.name}(${y.args})` === id),
    })
  }
  for (const q of s.sequences)
    out.push({
      key: `sequence:${q.name}`,
      object: 'sequence',
      table: null,
      name: q.name,
      get: (x) => x.sequences.find((y) => y.name === q.name),
    })
  for (const e of s.extensions)
    out.push({
      key: `extension:${e}`,
      object: 'extension',
      table: null,
      name: e,
      get: (x) => (x.extensions.includes(e) ? true : undefined),
    })
  return out
}

const j = (v: unknown) => (v === undefined ? undefined : JSON.stringify(v))

/**
 * Differences accepted as equal: where Dify's own releases disagree with each other, both forms are right (each
 * checked on the tags, docs/migrations.md). f9f6d18a37f9 (1.12.0) gave three ids a uuid_generate_v4() default on PostgreSQL; 1.13.0 edited the file in place
 * and dropped it, so a database upgraded by 1.12.x has it and one upgraded by 1.13+ does not (docs/migrations.md).
 */
function acceptedVariant(ref: ObjRef, expected: unknown, live: unknown): boolean {
  if (ref.object !== 'column') return false
  const e = expected as Record<string, unknown>
  const l = live as Record<string, unknown>
  if (ref.name === 'id' && ['account_trial_app_records', 'exporle_banners', 'trial_apps'].includes(ref.table!)) {
    return j({ ...e, default: null }) === j({ ...l, default: null })
  }
  // 669ffd70119c at tag 1.10.0 created trigger_oauth_tenant_clients.plugin_id as VARCHAR(512); 1.10.1 rewrote the
  // file (VARCHAR(255)) without a revision that alters existing databases, so a 1.10.0 database keeps 512 for good
  if (ref.table === 'trigger_oauth_tenant_clients' && ref.name === 'plugin_id') {
    const norm = (c: Record<string, unknown>) => j({ ...c, type: String(c.type).replace(/\((255|512)\)$/, '(n)') })
    return norm(e) === norm(l)
  }
  return false
}

function describe(ref: ObjRef): string {
  return ref.object === 'table'
    ? `table ${ref.name}`
    : ref.table
      ? `${ref.object} ${ref.table}.${ref.name}`
      : `${ref.object} ${ref.name}`
}

/** The object-level differences between `expected` and `live` (no attribution). */
export function compareSchemas(
  expected: NormalisedSchema,
  live: NormalisedSchema,
): { ref: ObjRef; kind: Exclude<DifferenceKind, 'invalid-index'>; expected: unknown; live: unknown }[] {
  tableIndex = new WeakMap()
  const exp = objects(expected)
  const liv = objects(live)
  const expKeys = new Set(exp.map((o) => o.key))
  const missingTables = new Set(exp.filter((o) => o.object === 'table' && o.get(live) === undefined).map((o) => o.name))
  const extraTables = new Set(
    liv.filter((o) => o.object === 'table' && o.get(expected) === undefined).map((o) => o.name),
  )
  const out: ReturnType<typeof compareSchemas> = []
  for (const o of exp) {
    if (o.object !== 'table' && o.table && missingTables.has(o.table)) continue // reported once, as the table
    const e = o.get(expected)
    const l = o.get(live)
    if (l === undefined) out.push({ ref: o, kind: 'missing', expected: e, live: l })
    else if (j(e) !== j(l) && !acceptedVariant(o, e, l)) out.push({ ref: o, kind: 'changed', expected: e, live: l })
  }
  for (const o of liv) {
    if (expKeys.has(o.key)) continue
    if (o.object !== 'table' && o.table && extraTables.has(o.table)) continue
    out.push({ ref: o, kind: 'extra', expected: undefined, live: o.get(live) })
  }
  return out
}

// ---------------------------------------------------------------- attribution

/** The revision that explains an object's state: who created/changed it (≤ R) or will create / dropped it. */
function attribute(
  facts: SchemaFacts,
  revision: string,
  ref: ObjRef,
  live: unknown,
): Pick<SchemaDifference, 'revision' | 'action' | 'pending'> {
  const revs = facts.revisions
  const at = revs.indexOf(revision)
  const val = (r: string) => j(ref.get(facts.at(r)!))
  const liveJ = j(live)
  // a later (pending) revision that brings the object to exactly the live state: a half-applied upgrade
  if (liveJ !== undefined) {
    for (let i = at + 1; i < revs.length; i++) {
      if (val(revs[i]!) !== val(revs[i - 1]!) && val(revs[i]!) === liveJ)
        return { revision: revs[i]!, action: val(revs[i - 1]!) === undefined ? 'creates' : 'changes', pending: true }
    }
  } else {
    for (let i = at + 1; i < revs.length; i++) {
      if (val(revs[i - 1]!) !== undefined && val(revs[i]!) === undefined)
        return { revision: revs[i]!, action: 'drops', pending: true }
    }
  }
  // the last applied revision that touched it
  for (let i = at; i >= 1; i--) {
    const now = val(revs[i]!)
    const before = val(revs[i - 1]!)
    if (now !== before)
      return {
        revision: revs[i]!,
        action: before === undefined ? 'creates' : now === undefined ? 'drops' : 'changes',
        pending: false,
      }
  }
  return { revision: null, action: null, pending: false }
}

// ---------------------------------------------------------------- live side

interface LiveExtras {
  invalidIndexes: { table: string; name: string }[]
  /** PostgreSQL 18 (and PGlite) provide pg_catalog.uuidv7(): Dify and dify-ops then do not create their own */
  nativeUuidv7: boolean
}

async function liveExtras(db: Db): Promise<LiveExtras> {
  if (db.dialect !== 'postgres') return { invalidIndexes: [], nativeUuidv7: false }
  const inv = await sql<{ table: string; name: string }>`
    select t.relname as table, c.relname as name from pg_index i
      join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid
     where not i.indisvalid and c.relnamespace = (select oid from pg_namespace where nspname = current_schema())
     order by 1, 2`.execute(db.kysely)
  const nat = await sql<{ n: number }>`
    select count(*)::int as n from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where p.proname = 'uuidv7' and n.nspname = 'pg_catalog'`.execute(db.kysely)
  return {
    invalidIndexes: inv.rows.filter((r) => !/^(embedding_vector_index_.*_nod|dify_ops_)/.test(r.table)),
    nativeUuidv7: Number(nat.rows[0]?.n ?? 0) > 0,
  }
}

async function tableRows(db: Db, table: string): Promise<number | null> {
  try {
    const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db.kysely)
    return Number(r.rows[0]?.n ?? 0)
  } catch {
    return null
  }
}

// ---------------------------------------------------------------- verify

export interface VerifyOptions {
  /** compare with this revision instead of alembic_version's */
  revision?: string
  /**
   * called once the live schema has been read (upgrade.ts starts its first DDL then); the comparison waits for the
   * promise it returns, so that its work does not hold up the caller's
   */
  onRead?: () => void | Promise<void>
}

/** Compare the live schema with the expected one (pure part; `extras` from the live database). */
export function verifyAgainst(
  facts: SchemaFacts,
  revision: string,
  live: NormalisedSchema,
  extras: LiveExtras,
): Omit<VerifyResult, 'suggestion'> {
  tableIndex = new WeakMap()
  const expected0 = facts.at(revision)
  if (!expected0) return { dialect: facts.dialect, revision, known: false, differences: [], matches: null }
  const fix = (s: NormalisedSchema): NormalisedSchema =>
    extras.nativeUuidv7 ? { ...s, functions: s.functions.filter((f) => !(f.name === 'uuidv7' && f.args === '')) } : s
  const expected = fix(expected0)
  const invalid = new Set(extras.invalidIndexes.map((i) => `${i.table}.${i.name}`))
  const differences: SchemaDifference[] = compareSchemas(expected, live)
    .filter((d) => !(d.ref.object === 'index' && invalid.has(`${d.ref.table}.${d.ref.name}`) && d.kind !== 'missing'))
    .map((d) => {
      const a = attribute(facts, revision, d.ref, d.live)
      const who = a.revision
        ? ` (${a.pending ? 'pending revision ' : 'revision '}${a.revision} ${a.action} it)`
        : ' (no revision of the chain explains it)'
      const detail = d.kind === 'changed' ? `: expected ${j(d.expected)}, found ${j(d.live)}` : ''
      const what = d.kind === 'missing' ? 'is missing' : d.kind === 'extra' ? 'exists but is not expected' : 'differs'
      return {
        kind: d.kind,
        object: d.ref.object,
        table: d.ref.table,
        name: d.ref.name,
        message: `${describe(d.ref)} ${what}${detail}${who}`,
        ...a,
      }
    })
  for (const i of extras.invalidIndexes) {
    const ref: ObjRef = {
      key: `index:${i.table}.${i.name}`,
      object: 'index',
      table: i.table,
      name: i.name,
      get: (x) => tableOf(x, i.table)?.indexes.find((y) => y.name === i.name),
    }
    const liveIdx = ref.get(live)
    const a = attribute(facts, revision, ref, liveIdx)
    differences.push({
      kind: 'invalid-index',
      object: 'index',
      table: i.table,
      name: i.name,
      message: `index ${i.table}.${i.name} is INVALID (a CREATE INDEX CONCURRENTLY that failed)${a.revision ? ` (${a.pending ? 'pending revision ' : 'revision '}${a.revision} ${a.action} it)` : ''}`,
      ...a,
    })
  }
  let matches: string | null = null
  if (differences.length) {
    for (const r of facts.revisions) {
      if (r === revision) continue
      const d = compareSchemas(fix(facts.at(r)!), live)
      if (d.length === 0 && extras.invalidIndexes.length === 0) {
        matches = r
        break
      }
    }
  }
  return { dialect: facts.dialect, revision, known: true, differences, matches }
}

/** The safe suggestion for a verify result (reads row counts of half-created tables). */
export async function suggest(
  db: Db | null,
  facts: SchemaFacts,
  r: Omit<VerifyResult, 'suggestion'>,
): Promise<Suggestion> {
  const d = r.differences
  if (!r.known)
    return {
      kind: 'manual',
      message: `This CLI has no expected schema for ${r.revision}; nothing was compared.`,
      steps: [],
    }
  if (d.length === 0)
    return { kind: 'none', message: 'The schema is exactly the one expected at this revision.', steps: [] }
  if (r.matches) {
    const idx = (x: string) => facts.revisions.indexOf(x)
    const behind = idx(r.matches) > idx(r.revision!)
    return {
      kind: 'stamp',
      message: behind
        ? `alembic_version (${r.revision}) is behind the schema, which is exactly ${r.matches}: record it, then upgrade.`
        : `alembic_version (${r.revision}) is ahead of the schema, which is exactly ${r.matches}: record that, then upgrade (the missing revisions are applied again).`,
      steps: [`dify db stamp ${r.matches}`, 'dify upgrade-db'],
    }
  }
  if (d.every((x) => x.kind === 'invalid-index')) {
    return {
      kind: 'rebuild-index',
      message: 'Only INVALID indexes differ (left by a failed CREATE INDEX CONCURRENTLY).',
      steps: d.map((x) =>
        x.pending
          ? `DROP INDEX CONCURRENTLY ${x.name};   -- created again by dify upgrade-db (${x.revision})`
          : `REINDEX INDEX CONCURRENTLY ${x.name};`,
      ),
    }
  }
  // objects a pending revision creates exist already (a half-applied upgrade): dropping them is safe only for empty
  // tables (and indexes on tables the upgrade creates again) — never for columns, whose values may be new data
  if (
    d.every(
      (x) =>
        x.pending &&
        x.action === 'creates' &&
        (x.kind === 'extra' || x.kind === 'invalid-index') &&
        (x.object === 'table' || x.object === 'index'),
    )
  ) {
    const steps: string[] = []
    for (const x of d.filter((y) => y.object === 'table')) {
      const n = db ? await tableRows(db, x.name) : null
      if (n !== 0)
        return manual(
          `the half-created table ${x.name} ${n === null ? 'could not be counted' : `holds ${n} row(s)`}; review it before dropping anything.`,
        )
      steps.push(`DROP TABLE ${x.name};`)
    }
    const dropped = new Set(d.filter((y) => y.object === 'table').map((y) => y.name))
    for (const x of d.filter((y) => y.object === 'index' && !dropped.has(y.table!)))
      steps.push(r.dialect === 'mysql' ? `DROP INDEX ${x.name} ON ${x.table};` : `DROP INDEX ${x.name};`)
    steps.push('dify upgrade-db')
    const revs = [...new Set(d.map((x) => x.revision))]
    return {
      kind: 'drop-and-rerun',
      message: `An upgrade stopped half-way: ${d.map((x) => describe({ object: x.object, table: x.table, name: x.name } as ObjRef)).join(', ')} exist(s) although alembic_version (${r.revision}) says ${revs.join(', ')} ${revs.length > 1 ? 'have' : 'has'} not run. They are new and empty: drop them, then run the upgrade again.`,
      steps,
    }
  }
  return manual('no automatic fix is safe: review the differences (dify db status --json).')
}

const manual = (why: string): Suggestion => ({
  kind: 'manual',
  message: `The schema does not match its revision; ${why}`,
  steps: [],
})

/** Verify a live database against its alembic_version (or `opts.revision`). */
export async function verifySchema(db: Db, opts: VerifyOptions = {}): Promise<VerifyResult> {
  let revision = opts.revision ?? null
  if (!revision) {
    const rows = await sql<{ version_num: string }>`select version_num from alembic_version`
      .execute(db.kysely)
      .catch(() => ({ rows: [] as { version_num: string }[] }))
    revision = rows.rows.length === 1 ? rows.rows[0]!.version_num : null
  }
  if (!revision) {
    const r = { dialect: db.dialect, revision: null, known: false, differences: [], matches: null }
    return {
      ...r,
      suggestion: {
        kind: 'manual',
        message: 'The database has no single alembic_version row; nothing was compared.',
        steps: [],
      },
    }
  }
  // the live schema is read first: its catalog queries are what a caller may be waiting for (onRead); the expected
  // schema (a large generated module, parsed once) loads meanwhile, or right after them when a caller waits
  const reading = (async () => ({ live: await introspectSchema(db), extras: await liveExtras(db) }))()
  reading.catch(() => {})
  if (opts.onRead) {
    await reading
    await opts.onRead()
    // let the waiting caller go first (upgrade-db sends its first transaction), then load and compare
    await new Promise((r) => setImmediate(r))
  }
  const facts = await loadSchemaFacts(db.dialect)
  if (!facts.at(revision)) {
    await reading.catch(() => {})
    const r = { dialect: db.dialect, revision, known: false, differences: [], matches: null }
    return { ...r, suggestion: await suggest(db, facts, r) }
  }
  const { live, extras } = await reading
  const r = verifyAgainst(facts, revision, live, extras)
  return { ...r, suggestion: await suggest(db, facts, r) }
}
