#!/usr/bin/env -S npx tsx
/**
 * Dev-only: regenerate test/fixtures/schema/ (the schema facts of every Dify release) from the oracles of the
 * reference data set beside the repository (--oracles DIR, else $DIFY_OPS_REFERENCE/oracles; scripts/reference.mjs):
 * each release's own SQL on an empty database, Dify's own whole-chain upgrade, and the real pg_dumps. Needs the local
 * PostgreSQL and MariaDB of scripts/services/core.sh, psql and mysql.
 *
 *   npm run gen:schema-fixtures [-- --oracles DIR]
 *
 * For every release and dialect it loads the release's SQL into a scratch database and introspects it with our
 * normaliser (src/migrations/schema/introspect.ts); it checks whether Dify's own upgrade from there (the newest
 * release's whole-chain SQL after the release's head) gives exactly the newest release's schema; it writes the
 * facts as deltas (test/support/schema-fixtures.ts); and it proves each fixture by rendering it with our own
 * renderer (test/support/schema-render.ts), loading that, and introspecting it again: any difference fails the run.
 * No SQL from the oracles is written into the repository, only the normalised facts.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { sql } from 'kysely'
import { MYSQL, PG } from '../test/support/services.js'
import { scratchMysql, scratchPg, type Scratch } from '../test/support/scratch.js'
import { openScratchDb } from '../test/support/dify-schema.js'
import { diffSchemas, introspectSchema, type NormalisedSchema } from '../src/migrations/schema/introspect.js'
import { ALEMBIC_VERSION_DDL, type SqlDialect } from '../src/migrations/types.js'
import {
  FIXTURES_DIR,
  formatFixture,
  makeDelta,
  type FixtureIndex,
  type FixtureIndexEntry,
} from '../test/support/schema-fixtures.js'
import { renderNormalised } from '../test/support/schema-render.js'
import { referenceSource } from './reference.mjs'

/** the oracles folder, with a trailing slash: file names are appended to it */
const ORACLES =
  referenceSource({
    script: 'gen:schema-fixtures',
    what: "Dify's oracles",
    option: 'oracles',
    arg: 'DIR',
    under: 'oracles',
  }) + '/'

interface Row {
  release: string
  head: string
  dialect: SqlDialect
  from: string
  file: string
}
const rows: Row[] = readFileSync(ORACLES + 'releases/index.tsv', 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'))
  .map(([release, head, dialect, from, file]) => ({
    release: release!,
    head: head!,
    dialect: dialect === 'mysql' ? 'mysql' : 'postgres',
    from: from!,
    file: file!,
  }))

function runSql(dialect: SqlDialect, database: string, text: string): void {
  const [cmd, args] =
    dialect === 'postgres'
      ? ['psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', database]]
      : ['mysql', ['-h', MYSQL.host, '-P', String(MYSQL.port), '-u', MYSQL.user, database]]
  execFileSync(cmd as string, args as string[], { input: text, stdio: ['pipe', 'ignore', 'pipe'], maxBuffer: 1 << 28 })
}

function chainFile(dialect: SqlDialect): { file: string; head: string } {
  const newest = rows.filter((r) => r.dialect === dialect).at(-1)!
  return {
    file: `${ORACLES}${dialect === 'postgres' ? 'pg' : 'mysql'}-offline-alembic-base-to-${newest.head}-dify-${newest.release}.sql`,
    head: newest.head,
  }
}

function chainAfter(dialect: SqlDialect, revision: string): string {
  const lines = readFileSync(chainFile(dialect).file, 'utf8').split('\n')
  const i = lines.findIndex(
    (l) =>
      l.startsWith(`UPDATE alembic_version SET version_num='${revision}'`) ||
      l.startsWith(`INSERT INTO alembic_version (version_num) VALUES ('${revision}')`),
  )
  if (i < 0) throw new Error(`revision ${revision} is not in the ${dialect} chain file`)
  return (dialect === 'postgres' ? 'BEGIN;\n' : '') + lines.slice(i + 1).join('\n') + '\n'
}

async function withScratch<T>(dialect: SqlDialect, tag: string, fn: (s: Scratch) => Promise<T>): Promise<T> {
  const s = dialect === 'postgres' ? await scratchPg(tag) : await scratchMysql(tag)
  try {
    return await fn(s)
  } finally {
    await s.drop().catch(() => {})
  }
}

async function introspect(s: Scratch): Promise<NormalisedSchema> {
  const db = await openScratchDb(s.env)
  try {
    return await introspectSchema(db)
  } finally {
    await db.close()
  }
}

async function rendered(dialect: SqlDialect, schema: NormalisedSchema): Promise<NormalisedSchema> {
  return withScratch(dialect, 'fxround', async (s) => {
    const db = await openScratchDb(s.env)
    try {
      for (const st of [ALEMBIC_VERSION_DDL, ...renderNormalised(schema)]) await sql.raw(st).execute(db.kysely)
    } finally {
      await db.close()
    }
    return introspect(s)
  })
}

const problems: string[] = []
const schemas = new Map<string, NormalisedSchema>()
const entries: FixtureIndexEntry[] = []
const newest: Record<SqlDialect, string> = { postgres: '', mysql: '' }
for (const r of rows) {
  newest[r.dialect] = r.release
  process.stderr.write(`${r.dialect} ${r.release} … `)
  try {
    const schema = await withScratch(r.dialect, `fx${r.release}`, async (s) => {
      runSql(r.dialect, s.name, readFileSync(ORACLES + 'releases/' + r.file, 'utf8'))
      return introspect(s)
    })
    schemas.set(`${r.dialect}:${r.release}`, schema)
    entries.push({
      release: r.release,
      dialect: r.dialect,
      head: r.head,
      fixture: `${r.release}.json`,
      upgradeGives: null,
    })
    process.stderr.write('loaded\n')
  } catch (e) {
    const why =
      String((e as { stderr?: Buffer }).stderr ?? e)
        .split('\n')
        .find((l) => /error/i.test(l)) ?? String(e)
    entries.push({
      release: r.release,
      dialect: r.dialect,
      head: r.head,
      fixture: null,
      unavailable: `Dify's own ${r.dialect} SQL of ${r.release} does not load: ${why.trim()}`,
      upgradeGives: null,
    })
    process.stderr.write(`does not load (${why.trim()})\n`)
  }
}

// Dify's own upgrade from each release to the newest: compare with the newest release's fresh schema
const upgradedSchemas = new Map<string, NormalisedSchema>()
for (const e of entries.filter((x) => x.fixture)) {
  const target = schemas.get(`${e.dialect}:${newest[e.dialect]}`)!
  const upgraded =
    e.release === newest[e.dialect]
      ? target
      : await withScratch(e.dialect, `fxu${e.release}`, async (s) => {
          runSql(
            e.dialect,
            s.name,
            readFileSync(
              ORACLES + 'releases/' + rows.find((r) => r.dialect === e.dialect && r.release === e.release)!.file,
              'utf8',
            ),
          )
          if (e.head !== chainFile(e.dialect).head) runSql(e.dialect, s.name, chainAfter(e.dialect, e.head))
          return introspect(s)
        })
  // Dify edits old migration files now and then (1.10.1 rewrote 669ffd70119c): where its own upgrade from a release
  // does not give the newest fresh schema, that result is a fixture of its own
  if (diffSchemas(target, upgraded).length === 0) e.upgradeGives = newest[e.dialect]
  else upgradedSchemas.set(`${e.dialect}:${e.release}`, upgraded)
}

// the real dumps: which release is each identical to
const realDumps: FixtureIndex['realDumps'] = []
for (const [file, head] of [
  ['pg-d20049ed0af6-dify-1.1.x.sql', 'd20049ed0af6'],
  ['pg-58eb7bdb93fe-dify-1.6.0.sql', '58eb7bdb93fe'],
  ['pg-227822d22895-dify-1.14.0.sql', '227822d22895'],
] as const) {
  const text = readFileSync(ORACLES + file, 'utf8')
    .split('\n')
    .filter((l) => !/^(ALTER .* OWNER TO|\\restrict|\\unrestrict|SET transaction_timeout)/.test(l))
    .join('\n')
  const schema = await withScratch('postgres', 'fxdump', async (s) => {
    runSql('postgres', s.name, text)
    return introspect(s)
  })
  const same = entries.find(
    (e) =>
      e.dialect === 'postgres' &&
      e.head === head &&
      e.fixture &&
      diffSchemas(schemas.get(`postgres:${e.release}`)!, schema).length === 0,
  )
  if (!same) problems.push(`real dump ${file} matches no release fixture with head ${head}`)
  else realDumps.push({ name: file.replace(/\.sql$/, ''), head, sameAs: same.release })
}

// the whole chain, revision by revision (the newest release's own files): one delta per revision, so a test or a
// check can have Dify's exact schema at ANY revision, and know which revision created or changed an object
const VERSION_LINE =
  /^(?:UPDATE alembic_version SET version_num='(\w+)'|INSERT INTO alembic_version \(version_num\) VALUES \('(\w+)'\))/
const chains: Record<SqlDialect, { revision: string; schema: NormalisedSchema }[]> = { postgres: [], mysql: [] }
for (const dialect of ['postgres', 'mysql'] as const) {
  const lines = readFileSync(chainFile(dialect).file, 'utf8').split('\n')
  await withScratch(dialect, 'fxchain', async (s) => {
    let from = 0
    for (let i = 0; i < lines.length; i++) {
      const m = VERSION_LINE.exec(lines[i]!)
      if (!m) continue
      const chunk = lines.slice(from, i + 1).filter((l) => l !== 'BEGIN;' && l !== 'COMMIT;')
      runSql(dialect, s.name, chunk.join('\n') + '\n')
      from = i + 1
      chains[dialect].push({ revision: (m[1] ?? m[2])!, schema: await introspect(s) })
    }
  })
  const last = chains[dialect].at(-1)!
  const d = diffSchemas(schemas.get(`${dialect}:${newest[dialect]}`)!, last.schema, [
    `fresh ${newest[dialect]}`,
    'chain at its head',
  ])
  if (d.length)
    problems.push(
      `${dialect}: the chain file at its head differs from the fresh ${newest[dialect]} schema:\n  ${d.join('\n  ')}`,
    )
  process.stderr.write(`${dialect}: chain of ${chains[dialect].length} revisions read\n`)
}

// write: the newest release in full, every other one as a delta against the next newer one of its dialect
rmSync(FIXTURES_DIR, { recursive: true, force: true })
for (const dialect of ['postgres', 'mysql'] as const) {
  mkdirSync(FIXTURES_DIR + dialect, { recursive: true })
  const list = entries.filter((e) => e.dialect === dialect && e.fixture)
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!
    const next = list[i + 1]
    const delta = makeDelta(
      e.release,
      e.head,
      schemas.get(`${dialect}:${e.release}`)!,
      next ? { release: next.release, schema: schemas.get(`${dialect}:${next.release}`)! } : null,
    )
    writeFileSync(`${FIXTURES_DIR}${dialect}/${e.fixture}`, formatFixture(delta))
    const up = upgradedSchemas.get(`${dialect}:${e.release}`)
    if (up) {
      e.upgraded = `upgraded-${e.release}.json`
      writeFileSync(
        `${FIXTURES_DIR}${dialect}/${e.upgraded}`,
        formatFixture(
          makeDelta(`upgraded from ${e.release}`, list.at(-1)!.head, up, {
            release: list.at(-1)!.release,
            schema: schemas.get(`${dialect}:${list.at(-1)!.release}`)!,
          }),
        ),
      )
    }
  }
}
for (const dialect of ['postgres', 'mysql'] as const) {
  mkdirSync(`${FIXTURES_DIR}chain/${dialect}`, { recursive: true })
  const list = chains[dialect]
  list.forEach((c, i) => {
    const prev =
      i > 0
        ? { release: list[i - 1]!.revision, schema: list[i - 1]!.schema }
        : { release: '', schema: { dialect, tables: [], sequences: [], extensions: [], functions: [] } }
    const delta = makeDelta(c.revision, c.revision, c.schema, prev)
    delete (delta as { release?: string }).release
    writeFileSync(
      `${FIXTURES_DIR}chain/${dialect}/${String(i + 1).padStart(3, '0')}-${c.revision}.json`,
      formatFixture(delta),
    )
  })
}
const index: FixtureIndex = {
  generatedFrom:
    'the oracles of the shared reference material (releases/index.tsv, whole-chain files, real dumps); scripts/gen-schema-fixtures.ts',
  newest,
  releases: entries,
  realDumps,
  chain: { postgres: chains.postgres.map((c) => c.revision), mysql: chains.mysql.map((c) => c.revision) },
}
writeFileSync(
  FIXTURES_DIR + 'index.json',
  '{\n' +
    `  "generatedFrom": ${JSON.stringify(index.generatedFrom)},\n  "newest": ${JSON.stringify(newest)},\n` +
    `  "releases": [\n${entries.map((e) => '    ' + JSON.stringify(e)).join(',\n')}\n  ],\n` +
    `  "realDumps": [\n${realDumps.map((e) => '    ' + JSON.stringify(e)).join(',\n')}\n  ],\n` +
    `  "chain": {\n${(['postgres', 'mysql'] as const).map((d) => `    "${d}": ${JSON.stringify(index.chain[d])}`).join(',\n')}\n  }\n}\n`,
)

// prove every fixture: our renderer + a real database + the normaliser give it back
const { fixtureSchema } = await import('../test/support/schema-fixtures.js')
for (const e of entries.filter((x) => x.fixture)) {
  const fx = fixtureSchema(e.dialect, e.release)
  const d1 = diffSchemas(schemas.get(`${e.dialect}:${e.release}`)!, fx, ['introspected', 'fixture'])
  const d2 = diffSchemas(fx, await rendered(e.dialect, fx), ['fixture', 'rendered'])
  if (d1.length || d2.length)
    problems.push(`${e.dialect} ${e.release}: fixture round trip:\n  ${[...d1, ...d2].slice(0, 20).join('\n  ')}`)
  else process.stderr.write(`${e.dialect} ${e.release}: round trip ok\n`)
}

const { chainSchema } = await import('../test/support/schema-fixtures.js')
for (const dialect of ['postgres', 'mysql'] as const) {
  const list = chains[dialect]
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!
    const fx = chainSchema(dialect, c.revision)
    const d1 = diffSchemas(c.schema, fx, ['introspected', 'fixture'])
    const d2 =
      i % 10 === 0 || i === list.length - 1 ? diffSchemas(fx, await rendered(dialect, fx), ['fixture', 'rendered']) : []
    if (d1.length || d2.length)
      problems.push(
        `${dialect} chain ${c.revision}: fixture round trip:\n  ${[...d1, ...d2].slice(0, 20).join('\n  ')}`,
      )
  }
  process.stderr.write(`${dialect}: chain fixtures checked\n`)
}

if (problems.length) {
  console.error(problems.join('\n'))
  process.exit(1)
}
console.error(`wrote ${entries.filter((e) => e.fixture).length} fixtures to ${FIXTURES_DIR}`)
