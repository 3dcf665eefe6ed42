/**
 * Dify's own schema of every release 1.0.0 → 1.15.0, for tests — ONE interface that every migration, verify and
 * per-release test uses.
 *
 * It reads the schema facts in test/fixtures/schema (generated from the oracles by scripts/gen-schema-fixtures.ts,
 * see CONTRIBUTING.md) and builds databases with our own renderer (test/support/schema-render.ts), so a clone of the
 * repository alone runs every test.
 *
 * - `ORACLE_RELEASES`: each release with its Alembic head and the dialects it has (MySQL from 1.10.1, without the
 *   1.11.3–1.12.1 files that Dify itself could not load on MySQL).
 * - `loadRelease(scratch, dialect, release)`: an EMPTY scratch database becomes exactly what a fresh install of that
 *   release has (alembic_version included).
 * - `releaseSchema(dialect, release)`: that database's normalised schema (alembic_version included).
 * - `expectedAfterUpgrade(dialect, release)`: the normalised schema Dify's own `flask upgrade-db` gives when a
 *   database created by `release` is upgraded to 1.15.0 (1.15.0's fresh schema, except where Dify edited an old
 *   migration file after that release, e.g. 1.10.0's `trigger_oauth_tenant_clients.plugin_id`).
 * - `expectedAt(dialect, release, revision)`: the same, but Dify's upgrade stopped at `revision`: at 1.15.0's head
 *   `expectedAfterUpgrade`, before it the chain's schema at `revision` (1.15.0's files; see dify-schema.ts).
 * - `loadRealDump(scratch, name)` / `REAL_DUMPS`: a real deployment's pg_dump (`dify-1.1.x`, `dify-1.6.0`,
 *   `dify-1.14.0`; they hold no rows but alembic_version, and the generator checked each schema is identical to a
 *   release's).
 */
import { sql } from 'kysely'
import type { Scratch } from './scratch.js'
import type { NormalisedSchema } from '../../src/migrations/schema/introspect.js'
import { ALEMBIC_VERSION_DDL, type SqlDialect } from '../../src/migrations/types.js'
import { chainSchema, fixtureIndex, fixtureSchema, fixtureUpgraded } from './schema-fixtures.js'
import { renderNormalised } from './schema-render.js'

export const HEAD_1_15_0 = 'd9e8f7a6b5c4'

export interface OracleRelease {
  release: string
  head: string
  dialects: SqlDialect[]
}

export const ORACLE_RELEASES: OracleRelease[] = (() => {
  const out = new Map<string, OracleRelease>()
  for (const r of fixtureIndex().releases) {
    const o = out.get(r.release) ?? { release: r.release, head: r.head, dialects: [] }
    if (r.fixture) o.dialects.push(r.dialect)
    out.set(r.release, o)
  }
  return [...out.values()]
})()

function headOf(dialect: SqlDialect, release: string): string {
  const e = fixtureIndex().releases.find((r) => r.dialect === dialect && r.release === release)
  if (!e) throw new Error(`no ${dialect} schema for Dify ${release}`)
  return e.head
}

/** Build `schema` (rendered by our renderer) plus alembic_version at `head` in the EMPTY scratch database. */
async function build(s: Scratch, schema: NormalisedSchema, head: string): Promise<void> {
  const { openScratchDb } = await import('./dify-schema.js')
  const db = await openScratchDb(s.env)
  try {
    for (const st of [
      ALEMBIC_VERSION_DDL,
      ...renderNormalised(schema),
      `INSERT INTO alembic_version (version_num) VALUES ('${head}')`,
    ]) {
      await sql.raw(st).execute(db.kysely)
    }
  } finally {
    await db.close()
  }
}

/** Make the EMPTY scratch database exactly what a fresh install of `release` has. */
export async function loadRelease(s: Scratch, dialect: SqlDialect, release: string): Promise<void> {
  await build(s, fixtureSchema(dialect, release), headOf(dialect, release))
}

/** The normalised schema of a fresh install of `release`. */
export async function releaseSchema(dialect: SqlDialect, release: string): Promise<NormalisedSchema> {
  return fixtureSchema(dialect, release)
}

/** The normalised schema Dify's own upgrade to 1.15.0 gives for a database created by `release`. */
export async function expectedAfterUpgrade(dialect: SqlDialect, release: string): Promise<NormalisedSchema> {
  return fixtureUpgraded(dialect, release)
}

/** Dify's schema when its own upgrade from `release` stops at `revision` (see the header). */
export async function expectedAt(dialect: SqlDialect, release: string, revision: string): Promise<NormalisedSchema> {
  if (revision === HEAD_1_15_0) return expectedAfterUpgrade(dialect, release)
  if (revision === headOf(dialect, release)) return releaseSchema(dialect, release)
  return chainSchema(dialect, revision)
}

/** Real `pg_dump`s of running deployments (PostgreSQL), by name: their Dify release and alembic head. */
export const REAL_DUMPS: Record<string, { release: string; head: string }> = Object.fromEntries(
  fixtureIndex().realDumps.map((d) => [d.name.replace(/^pg-[0-9a-f]+-/, ''), { release: d.sameAs, head: d.head }]),
)

/** Make the EMPTY PostgreSQL scratch database what the real dump `name` has (its schema and alembic_version). */
export async function loadRealDump(s: Scratch, name: string): Promise<void> {
  const d = REAL_DUMPS[name]
  if (!d) throw new Error(`no real dump named ${name}`)
  await build(s, fixtureSchema('postgres', d.release), d.head)
}
