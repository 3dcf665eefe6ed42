import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { PG } from './services.js'

/** Dify's own offline Alembic SQL, base → e8c3b3c46151 (read-only, in ../shared beside the project). */
export const OFFLINE_ORACLE = fileURLToPath(new URL('../../../shared/oracles/pg-offline-alembic-base-to-e8c3b3c46151.sql', import.meta.url))

/** The oracle SQL cut right after the version line of `revision`, plus COMMIT: the exact PG schema at that revision. */
export function oracleSqlAt(revision: string): string {
  const lines = readFileSync(OFFLINE_ORACLE, 'utf8').split('\n')
  const idx = lines.findIndex(
    (l) => l.startsWith(`UPDATE alembic_version SET version_num='${revision}'`) || l.startsWith(`INSERT INTO alembic_version (version_num) VALUES ('${revision}')`),
  )
  if (idx < 0) throw new Error(`revision ${revision} is not in the offline oracle`)
  return lines.slice(0, idx + 1).join('\n') + '\nCOMMIT;\n'
}

/** Build Dify's exact PostgreSQL schema at `revision` in `database` (through psql, as the oracle needs). */
export function loadOracleSchema(database: string, revision: string): void {
  execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', database], {
    input: oracleSqlAt(revision),
    stdio: ['pipe', 'ignore', 'pipe'],
  })
}
