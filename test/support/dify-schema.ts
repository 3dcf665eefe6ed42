/**
 * Dify's metadata schema for tests.
 *
 * - `createDifySchema(db: Db, revision = '788d3099ae3a')`: takes an OPEN `Db` (src/runtime/db.ts) on an EMPTY
 *   database — PostgreSQL, MySQL/MariaDB or PGlite — and builds Dify's schema at `revision` from our own revisions
 *   (src/migrations/registry.ts), writing alembic_version as Alembic would. Typical use:
 *     const s = await scratchMysql('mytag'); const db = await openScratchDb(s.env); await createDifySchema(db)
 *     …; await db.close(); await s.drop()
 *   or with PGlite: `const db = await openPglite(tmpDir); await createDifySchema(db)`.
 * - `upgradeDifySchema(db, to?)`: bring a database at an earlier revision forward.
 * - `loadOracleSchema(database, revision)`: Dify's own PG schema at any revision, from the schema facts in
 *   test/fixtures/schema (generated from the oracles, rendered by our own renderer; psql). Whole releases, on both
 *   dialects: ./oracles.ts. `scratchPgFromTemplate(tag, template)` copies a database cheaply.
 * - `openScratchDb(env)`: a Db on a scratch database's env.
 */
import { execFileSync } from 'node:child_process'
import { PG } from './services.js'
import type { Scratch } from './scratch.js'
import { sql } from 'kysely'
import type { Db } from '../../src/core/db.js'
import { BASELINE, REVISION_LIST } from '../../src/migrations/registry.js'
import { ALEMBIC_VERSION_DDL } from '../../src/migrations/types.js'
import type { Revision } from '../../src/migrations/types.js'
import { chainSchema } from './schema-fixtures.js'
import { renderNormalised } from './schema-render.js'

/**
 * Build Dify's exact PostgreSQL schema at `revision` (any revision of the chain, as 1.15.0's migration files build
 * it; note that 1.15.0's f9f6d18a37f9 gives three tables no `uuid_generate_v4()` default where 1.12.x's did —
 * per-release schemas are ./oracles.ts) in the EMPTY database `database`, alembic_version included: the schema facts
 * of test/fixtures/schema/chain rendered by our own renderer, run through psql.
 */
export function loadOracleSchema(database: string, revision: string): void {
  const statements = [
    ALEMBIC_VERSION_DDL,
    ...renderNormalised(chainSchema('postgres', revision)),
    `INSERT INTO alembic_version (version_num) VALUES ('${revision}')`,
  ]
  psqlRun(database, statements.map((st) => st + ';').join('\n'))
}

// ---------------------------------------------------------------------------------------------------------------
// createDifySchema: Dify's schema at a revision, on PostgreSQL, MySQL/MariaDB or PGlite, from our own revisions.
//
// Usage: open a Db on an EMPTY scratch database (scratchPg/scratchMysql + openDb, or openPglite on a temp dir),
// then `await createDifySchema(db)` (head 788d3099ae3a) or `await createDifySchema(db, 'd57accd375ae')`.
// It applies the registry's statements in chain order and keeps alembic_version as Alembic would (created first,
// baseline INSERTed, then UPDATEd per revision). A minimal applier for tests only: no locks, no lock_timeout, no
// recovery — the real runner is src/migrations/runner (db upgrade). `upgradeDifySchema(db, to)` brings a database
// that already has Dify's schema at some revision (e.g. from loadOracleSchema) forward to `to`.
// ---------------------------------------------------------------------------------------------------------------

export const DIFY_HEAD = 'd9e8f7a6b5c4'

/** An empty database: the baseline (d57accd375ae), then the steps after it up to `to`. */
function chainUpTo(to: string): Revision[] {
  const i = REVISION_LIST.findIndex((r) => r.revision === to)
  const b = REVISION_LIST.findIndex((r) => r.revision === BASELINE.revision)
  if (i < 0) throw new Error(`revision ${to} is not in the registry`)
  if (i < b) throw new Error(`revision ${to} is older than the baseline ${BASELINE.revision}`)
  return [BASELINE, ...REVISION_LIST.slice(b + 1, i + 1)]
}

/** The steps from `from` (exclusive; a step's revision or the floor 08ec4f75af5e) up to `to`. */
function stepsBetween(from: string, to: string): Revision[] {
  const i = REVISION_LIST.findIndex((r) => r.revision === to)
  const a = from === REVISION_LIST[0]!.downRevision ? -1 : REVISION_LIST.findIndex((r) => r.revision === from)
  if (i < 0 || a < -1 || (a === -1 && from !== REVISION_LIST[0]!.downRevision) || a > i)
    throw new Error(`database revision ${from} is not before ${to} in the registry`)
  return REVISION_LIST.slice(a + 1, i + 1)
}

async function applyOne(db: Db, r: Revision, prev: string | null): Promise<void> {
  const run = async (exec: (text: string) => Promise<{ rows: unknown[] }>) => {
    const q = async (text: string) => (await exec(text)).rows as Record<string, unknown>[]
    for (const s of r.statements(db.dialect)) {
      if (s.run) await s.run(q)
      else await exec(s.sql)
    }
    if (prev == null) await exec(`INSERT INTO alembic_version (version_num) VALUES ('${r.revision}')`)
    else
      await exec(`UPDATE alembic_version SET version_num='${r.revision}' WHERE alembic_version.version_num = '${prev}'`)
  }
  if (db.transactionalDdl && !r.statements(db.dialect).some((s) => s.noTransaction)) {
    await db.kysely.transaction().execute((trx) => run((text) => sql.raw(text).execute(trx)))
  } else {
    await run((text) => sql.raw(text).execute(db.kysely))
  }
}

/** Build Dify's schema at `revision` (default: the head this project targets) in the empty database `db`. */
export async function createDifySchema(db: Db, revision: string = DIFY_HEAD): Promise<void> {
  await sql.raw(ALEMBIC_VERSION_DDL).execute(db.kysely)
  let prev: string | null = null
  for (const r of chainUpTo(revision)) {
    await applyOne(db, r, prev)
    prev = r.revision
  }
}

/** Bring a database at some registry revision (read from alembic_version) forward to `to`. Returns the applied ids. */
export async function upgradeDifySchema(db: Db, to: string = DIFY_HEAD): Promise<string[]> {
  const rows = (await sql.raw('SELECT version_num FROM alembic_version').execute(db.kysely)).rows as {
    version_num: string
  }[]
  if (rows.length !== 1) throw new Error(`alembic_version has ${rows.length} rows`)
  const current = rows[0]!.version_num
  const applied: string[] = []
  let prev = current
  for (const r of stepsBetween(current, to)) {
    await applyOne(db, r, prev)
    prev = r.revision
    applied.push(r.revision)
  }
  return applied
}

/** Open a Db on a scratch database (scratchPg / scratchMysql). Close it before dropping the scratch database. */
export async function openScratchDb(env: Record<string, string>): Promise<Db> {
  const { loadConfig } = await import('../../src/config/schema.js')
  const { openDb } = await import('../../src/runtime/db.js')
  return openDb(loadConfig({ env, noDotenv: true }).db, { connectTimeoutMs: 30_000, maxConnections: 2 }) // generous: the shared test machine is often loaded
}

/** Run SQL text through psql on `database` (ON_ERROR_STOP). */
export function psqlRun(database: string, text: string): void {
  execFileSync(
    'psql',
    ['-q', '-v', 'ON_ERROR_STOP=1', '-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', database],
    {
      input: text,
      stdio: ['pipe', 'ignore', 'pipe'],
    },
  )
}

/** A scratch PostgreSQL database copied from `template` (CREATE DATABASE … TEMPLATE; nobody may be connected to it). */
export async function scratchPgFromTemplate(tag: string, template: string): Promise<Scratch> {
  const { scratchPg } = await import('./scratch.js')
  return scratchPg(tag, { template })
}
