/**
 * Dify's own schema of every release 1.0.0 → 1.15.0, for tests — ONE interface that every migration, verify and
 * per-release test uses, so that its source can change without touching the tests.
 *
 * Today it reads the oracles in ../shared/oracles (README there). Issue #18 replaces the internals with fixtures
 * generated into the repository (normalised schema facts rendered by our own renderer); the signatures stay.
 *
 * - `ORACLE_RELEASES`: each release with its Alembic head and the dialects it has (MySQL from 1.10.1).
 * - `loadRelease(scratch, dialect, release)`: an EMPTY scratch database becomes exactly what a fresh install of that
 *   release has (alembic_version included).
 * - `releaseSchema(dialect, release)`: that database's normalised schema.
 * - `expectedAfterUpgrade(dialect, release)`: the normalised schema Dify's own `flask upgrade-db` gives when a
 *   database created by `release` is upgraded to 1.15.0 (the release's file, then 1.15.0's chain after its head).
 * - `expectedAt(dialect, release, revision)`: the same, but Dify's upgrade stopped at `revision` (`flask db upgrade
 *   REV`): the release's file, then 1.15.0's chain after its head up to `revision`.
 * - `loadRealDump(scratch, name)`: an EMPTY scratch PostgreSQL database becomes a real deployment's dump
 *   (`REAL_DUMPS`: 'dify-1.1.x', 'dify-1.6.0'), data included.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MYSQL, PG } from './services.js'
import { scratchMysql, scratchPg, type Scratch } from './scratch.js'
import { introspectSchema, type NormalisedSchema } from '../../src/migrations/schema/introspect.js'
import type { SqlDialect } from '../../src/migrations/types.js'

const ORACLES = fileURLToPath(new URL('../../../shared/oracles/', import.meta.url))
export const HEAD_1_15_0 = 'd9e8f7a6b5c4'

export interface OracleRelease {
  release: string
  head: string
  dialects: SqlDialect[]
}

interface IndexRow {
  release: string
  head: string
  dialect: SqlDialect
  file: string
}

function indexRows(): IndexRow[] {
  return readFileSync(ORACLES + 'releases/index.tsv', 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .map(([release, head, dialect, , file]) => ({ release: release!, head: head!, dialect: dialect === 'mysql' ? 'mysql' : 'postgres', file: file! }))
}

export const ORACLE_RELEASES: OracleRelease[] = (() => {
  const out = new Map<string, OracleRelease>()
  for (const r of indexRows()) {
    const o = out.get(r.release) ?? { release: r.release, head: r.head, dialects: [] }
    o.dialects.push(r.dialect)
    out.set(r.release, o)
  }
  return [...out.values()]
})()

function releaseFile(dialect: SqlDialect, release: string): string {
  const row = indexRows().find((r) => r.release === release && r.dialect === dialect)
  if (!row) throw new Error(`no ${dialect} oracle for Dify ${release}`)
  return ORACLES + 'releases/' + row.file
}

function runSql(dialect: SqlDialect, database: string, text: string): void {
  if (dialect === 'postgres') {
    execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', database], {
      input: text,
      stdio: ['pipe', 'ignore', 'pipe'],
      maxBuffer: 1 << 28,
    })
  } else {
    execFileSync('mysql', ['-h', MYSQL.host, '-P', String(MYSQL.port), '-u', MYSQL.user, database], {
      input: text,
      stdio: ['pipe', 'ignore', 'pipe'],
      maxBuffer: 1 << 28,
    })
  }
}

/** The whole-chain SQL of 1.15.0's files after the version line of `revision` (Dify's own upgrade from there), up to `until`'s. */
function chainAfter(dialect: SqlDialect, revision: string, until?: string): string {
  const file = ORACLES + (dialect === 'postgres' ? 'pg' : 'mysql') + `-offline-alembic-base-to-${HEAD_1_15_0}-dify-1.15.0.sql`
  const lines = readFileSync(file, 'utf8').split('\n')
  const at = (rev: string) => {
    const i = lines.findIndex(
      (l) => l.startsWith(`UPDATE alembic_version SET version_num='${rev}'`) || l.startsWith(`INSERT INTO alembic_version (version_num) VALUES ('${rev}')`),
    )
    if (i < 0) throw new Error(`revision ${rev} is not in the 1.15.0 chain`)
    return i
  }
  const i = at(revision)
  const body = until === undefined ? lines.slice(i + 1) : [...lines.slice(i + 1, at(until) + 1), dialect === 'postgres' ? 'COMMIT;' : '']
  return (dialect === 'postgres' ? 'BEGIN;\n' : '') + body.join('\n') + '\n'
}

/** Make the EMPTY scratch database exactly what a fresh install of `release` has. */
export async function loadRelease(s: Scratch, dialect: SqlDialect, release: string): Promise<void> {
  runSql(dialect, s.name, readFileSync(releaseFile(dialect, release), 'utf8'))
}

async function introspectScratch(s: Scratch): Promise<NormalisedSchema> {
  const { openScratchDb } = await import('./dify-schema.js')
  const db = await openScratchDb(s.env)
  try {
    return await introspectSchema(db)
  } finally {
    await db.close()
  }
}

const cache = new Map<string, Promise<NormalisedSchema>>()
function cached(key: string, make: () => Promise<NormalisedSchema>): Promise<NormalisedSchema> {
  let p = cache.get(key)
  if (!p) cache.set(key, (p = make()))
  return p
}

async function withScratch<T>(dialect: SqlDialect, tag: string, fn: (s: Scratch) => Promise<T>): Promise<T> {
  const s = dialect === 'postgres' ? await scratchPg(tag) : await scratchMysql(tag)
  try {
    return await fn(s)
  } finally {
    await s.drop().catch(() => {})
  }
}

/** The normalised schema of a fresh install of `release`. */
export function releaseSchema(dialect: SqlDialect, release: string): Promise<NormalisedSchema> {
  return cached(`r:${dialect}:${release}`, () =>
    withScratch(dialect, `orr${release}`, async (s) => {
      await loadRelease(s, dialect, release)
      return introspectScratch(s)
    }),
  )
}

/** The normalised schema Dify's own upgrade to 1.15.0 gives for a database created by `release`. */
export function expectedAfterUpgrade(dialect: SqlDialect, release: string): Promise<NormalisedSchema> {
  return cached(`u:${dialect}:${release}`, () =>
    withScratch(dialect, `oru${release}`, async (s) => {
      await loadRelease(s, dialect, release)
      const head = ORACLE_RELEASES.find((r) => r.release === release)!.head
      if (head !== HEAD_1_15_0) runSql(dialect, s.name, chainAfter(dialect, head))
      return introspectScratch(s)
    }),
  )
}

/** Dify's own SQL (1.15.0's files, offline) that upgrades a database at `from` to `to`, for psql / mysql (benchmarks). */
export function chainSqlBetween(dialect: SqlDialect, from: string, to: string): string {
  return chainAfter(dialect, from, to)
}

/**
 * The normalised schema Dify's own upgrade gives for a database created by `release` when it stops at `revision`
 * (`revision` at or after the release's head; at the head it is `releaseSchema`).
 */
export function expectedAt(dialect: SqlDialect, release: string, revision: string): Promise<NormalisedSchema> {
  return cached(`a:${dialect}:${release}:${revision}`, () =>
    withScratch(dialect, `ora${release}`, async (s) => {
      await loadRelease(s, dialect, release)
      const head = ORACLE_RELEASES.find((r) => r.release === release)!.head
      if (head !== revision) runSql(dialect, s.name, chainAfter(dialect, head, revision))
      return introspectScratch(s)
    }),
  )
}

/** Real `pg_dump`s of running deployments (PostgreSQL), by name: their Dify release and alembic head. */
export const REAL_DUMPS: Record<string, { release: string; head: string; file: string }> = {
  'dify-1.1.x': { release: '1.1.x', head: 'd20049ed0af6', file: 'pg-d20049ed0af6-dify-1.1.x.sql' },
  'dify-1.6.0': { release: '1.6.0', head: '58eb7bdb93fe', file: 'pg-58eb7bdb93fe-dify-1.6.0.sql' },
}

/** Make the EMPTY scratch PostgreSQL database a copy of the real dump `name` (owner, \\restrict and timeout lines left out). */
export async function loadRealDump(s: Scratch, name: string): Promise<void> {
  const d = REAL_DUMPS[name]
  if (!d) throw new Error(`no real dump named ${name}`)
  const text = readFileSync(ORACLES + d.file, 'utf8')
    .split('\n')
    .filter((l) => !/^(ALTER .* OWNER TO|\\restrict|\\unrestrict|SET transaction_timeout)/.test(l))
    .join('\n')
  runSql('postgres', s.name, text)
}
