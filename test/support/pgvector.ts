import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { PG } from './services.js'

/** Whether the local PostgreSQL offers the pgvector extension (scripts/services/pgvector.sh builds it). */
export async function pgvectorAvailable(): Promise<boolean> {
  const c = new pg.Client({ ...PG, database: 'postgres' })
  try {
    await c.connect()
    return (await c.query(`select 1 from pg_available_extensions where name = 'vector'`)).rowCount === 1
  } catch {
    return false
  } finally {
    await c.end().catch(() => {})
  }
}

/** Dify's PGVECTOR_* variables for a database on the local server. */
export function pgvectorVars(database: string): Record<string, string> {
  return {
    PGVECTOR_HOST: PG.host,
    PGVECTOR_PORT: String(PG.port),
    PGVECTOR_USER: PG.user,
    PGVECTOR_PASSWORD: '',
    PGVECTOR_DATABASE: database,
  }
}

/** A dotenv file with these variables in a fresh temporary directory (e.g. for --source-env-file); returns its path. */
export function writeEnvFile(vars: Record<string, string>, tag = 'dops'): string {
  const file = join(mkdtempSync(join(tmpdir(), `${tag}-`)), 'source.env')
  writeFileSync(
    file,
    Object.entries(vars)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  )
  return file
}
