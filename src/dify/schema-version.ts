import { sql } from 'kysely'
import type { Db } from '../runtime/db.js'
import { ConfigError } from '../cli/errors.js'
import { profileFor, SUPPORTED_WINDOW_TEXT, type DifyProfile } from './profile.js'
import { FIRST_WINDOW, REVISIONS } from './releases.js'

/** A known revision before the supported window: the one case where `dify upgrade-db` can help. */
function olderThanWindow(profile: DifyProfile): boolean {
  const seq = profile.release?.known ? profile.release.seq : undefined
  return seq !== undefined && seq < REVISIONS.get(FIRST_WINDOW.fromHead)!.seq
}

/** The rows of alembic_version, or null when the table does not exist (an empty database). */
export async function readAlembicVersions(db: Db): Promise<string[] | null> {
  const exists =
    db.dialect === 'postgres'
      ? await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = current_schema() and table_name = 'alembic_version'`.execute(db.kysely)
      : await sql<{ n: number }>`select count(*) as n from information_schema.tables where table_schema = database() and table_name = 'alembic_version'`.execute(db.kysely)
  if (Number(exists.rows[0]?.n ?? 0) === 0) return null
  const rows = await sql<{ version_num: string }>`select version_num from alembic_version`.execute(db.kysely)
  return rows.rows.map((r) => r.version_num)
}

/** The compatibility profile of the connected database. */
export async function loadProfile(db: Db): Promise<DifyProfile> {
  const versions = await readAlembicVersions(db)
  return profileFor(versions && versions.length === 1 ? versions[0]! : null)
}

/**
 * Writes refuse a database outside the supported window (exit 4) unless forced.
 * Returns a warning text for read-only use, or undefined when the database is supported.
 */
export function checkSupported(profile: DifyProfile, opts: { writes: boolean; force?: boolean }): string | undefined {
  if (profile.supported) return undefined
  const what = profile.revision
    ? `at revision ${profile.revision} (${profile.release?.description})`
    : 'without a Dify schema (no alembic_version)'
  const text = `The metadata database is ${what}, outside the supported ${SUPPORTED_WINDOW_TEXT}.`
  if (opts.writes && !opts.force) {
    throw new ConfigError(text, {
      hint: !profile.revision
        ? 'Create the schema first with dify upgrade-db.'
        : olderThanWindow(profile)
          ? 'Upgrade Dify into the window (dify upgrade-db), or pass --force-version if you know the difference does not matter.'
          : // newer than (or unknown to) this CLI: upgrade-db cannot help, it never goes past its own head
            'Use a dify-ops release that supports this Dify version, or pass --force-version if you know the difference does not matter.',
      details: { revision: profile.revision },
    })
  }
  return text
}
