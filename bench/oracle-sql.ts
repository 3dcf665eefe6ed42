/**
 * Dify's own offline SQL (1.15.0's migration files, whole chain) for the upgrade benchmarks' psql floor. Benchmarks
 * are development tools: they read the oracles of the reference data set directly (the tests never do; they use the
 * schema facts in test/fixtures/schema). The reference folder is DIFY_OPS_REFERENCE, as for the generators
 * (scripts/reference.mjs), else the folder `shared` beside the repository; the oracles are its `oracles/`.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const CHAIN_FILE = {
  postgres: 'pg-offline-alembic-base-to-d9e8f7a6b5c4-dify-1.15.0.sql',
  mysql: 'mysql-offline-alembic-base-to-d9e8f7a6b5c4-dify-1.15.0.sql',
}

/** The whole-chain file of `dialect`, read when a benchmark first needs it; a missing file fails in one sentence. */
function chainLines(dialect: 'postgres' | 'mysql'): string[] {
  const reference = process.env.DIFY_OPS_REFERENCE ?? join(fileURLToPath(new URL('../..', import.meta.url)), 'shared')
  const file = join(reference, 'oracles', CHAIN_FILE[dialect])
  if (!existsSync(file)) {
    throw new Error(
      `Dify's ${dialect} oracle ${file} does not exist: set DIFY_OPS_REFERENCE to the reference data set's folder (the one holding oracles/).`,
    )
  }
  return readFileSync(file, 'utf8').split('\n')
}

function lineOf(lines: string[], rev: string): number {
  const i = lines.findIndex(
    (l) =>
      l.startsWith(`UPDATE alembic_version SET version_num='${rev}'`) ||
      l.startsWith(`INSERT INTO alembic_version (version_num) VALUES ('${rev}')`),
  )
  if (i < 0) throw new Error(`revision ${rev} is not in the 1.15.0 chain`)
  return i
}

/** The chain cut right after the version line of `revision`, plus COMMIT: Dify's exact PG schema at that revision. */
export function oracleSqlAt(revision: string): string {
  const lines = chainLines('postgres')
  return lines.slice(0, lineOf(lines, revision) + 1).join('\n') + '\nCOMMIT;\n'
}

/** Dify's own SQL that upgrades a database at `from` to `to`. */
export function chainSqlBetween(dialect: 'postgres' | 'mysql', from: string, to: string): string {
  const lines = chainLines(dialect)
  const body = lines.slice(lineOf(lines, from) + 1, lineOf(lines, to) + 1)
  return dialect === 'postgres' ? `BEGIN;\n${body.join('\n')}\nCOMMIT;\n` : body.join('\n') + '\n'
}
