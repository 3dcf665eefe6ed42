/**
 * Dify's own offline SQL (1.15.0's migration files, whole chain) for the upgrade benchmarks' psql floor. Benchmarks
 * are development tools: they read the oracles in ../shared/oracles directly (the tests never do; they use the
 * schema facts in test/fixtures/schema).
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const CHAIN = {
  postgres: fileURLToPath(
    new URL('../../shared/oracles/pg-offline-alembic-base-to-d9e8f7a6b5c4-dify-1.15.0.sql', import.meta.url),
  ),
  mysql: fileURLToPath(
    new URL('../../shared/oracles/mysql-offline-alembic-base-to-d9e8f7a6b5c4-dify-1.15.0.sql', import.meta.url),
  ),
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
  const lines = readFileSync(CHAIN.postgres, 'utf8').split('\n')
  return lines.slice(0, lineOf(lines, revision) + 1).join('\n') + '\nCOMMIT;\n'
}

/** Dify's own SQL that upgrades a database at `from` to `to`. */
export function chainSqlBetween(dialect: 'postgres' | 'mysql', from: string, to: string): string {
  const lines = readFileSync(CHAIN[dialect], 'utf8').split('\n')
  const body = lines.slice(lineOf(lines, from) + 1, lineOf(lines, to) + 1)
  return dialect === 'postgres' ? `BEGIN;\n${body.join('\n')}\nCOMMIT;\n` : body.join('\n') + '\n'
}
