import { existsSync } from 'node:fs'
import { sql } from 'kysely'
import type { Db } from '../core/db.js'
import { ConfigError } from '../core/errors.js'
import { profileFor, SUPPORTED_WINDOW_TEXT, type DifyProfile, type ProfileOptions } from './profile.js'
import { OFF_MAIN_REVISIONS, REVISIONS, SUPPORTED_WINDOW } from './releases.js'
import { MANIFESTS, manifestFor, verifyManifest, type Manifest, type ManifestOperation } from './manifest.js'
import { DIFY_API_VERSIONS_DIR, findVersionsDir, noMigrationsUnder, readDifyCode } from './dify-code.js'

/** The rows of alembic_version, or null when the table does not exist (an empty database). */
export async function readAlembicVersions(db: Db): Promise<string[] | null> {
  const exists =
    db.dialect === 'postgres'
      ? // pg_class itself: information_schema.tables checks privileges on every row of the catalog (~2 ms of a new
        // session's cold caches, on every command's release check)
        await sql<{
          n: number
        }>`select count(*)::int as n from pg_class where relname = 'alembic_version' and relkind in ('r', 'p') and relnamespace = (select oid from pg_namespace where nspname = current_schema())`.execute(
          db.kysely,
        )
      : await sql<{
          n: number
        }>`select count(*) as n from information_schema.tables where table_schema = database() and table_name = 'alembic_version'`.execute(
          db.kysely,
        )
  if (Number(exists.rows[0]?.n ?? 0) === 0) return null
  const rows = await sql<{ version_num: string }>`select version_num from alembic_version`.execute(db.kysely)
  return rows.rows.map((r) => r.version_num)
}

export interface LoadProfileOptions {
  /** --dify-root / DIFY_OPS_DIFY_ROOT: a Dify checkout or install whose migrations tell a newer revision */
  difyRoot?: string
  /** where the dify-api image keeps the migrations (default /app/api/migrations/versions); tests pass a temp dir */
  defaultVersionsDir?: string
  /** alembic_version's rows as the caller just read them (readAlembicVersions), so they are not read again */
  versions?: string[] | null
}

/**
 * The Alembic graph of the Dify code at hand: `difyRoot` (an explicit one that holds no migrations is exit 4), else
 * the dify-api image's versions directory when it exists. A graph that cannot be read (no single head) is ignored.
 */
export function codeAtHand(opts: LoadProfileOptions): ProfileOptions['code'] | undefined {
  let dir: string | undefined
  if (opts.difyRoot) {
    dir = findVersionsDir(opts.difyRoot)
    if (!dir) throw noMigrationsUnder(opts.difyRoot)
  } else {
    const d = opts.defaultVersionsDir ?? DIFY_API_VERSIONS_DIR
    if (existsSync(d)) dir = d
  }
  if (!dir) return undefined
  try {
    return readDifyCode(dir)
  } catch {
    return undefined
  }
}

/** The compatibility profile of the connected database. */
export async function loadProfile(db: Db, opts: LoadProfileOptions = {}): Promise<DifyProfile> {
  const versions = opts.versions !== undefined ? opts.versions : await readAlembicVersions(db)
  const revision = versions && versions.length === 1 ? versions[0]! : null
  // the code at hand is read only for a revision this CLI does not know
  const code = revision && !REVISIONS.has(revision) ? codeAtHand(opts) : undefined
  return profileFor(revision, { dialect: db.dialect === 'mysql' ? 'mysql' : 'postgres', code })
}

export interface CheckOptions {
  writes: boolean
  force?: boolean
  /**
   * for a database newer than the CLI knows: the writer's manifest (src/dify/manifest.ts) was verified against the
   * database by introspection (checkRelease does it)
   */
  manifestVerified?: boolean
}

/** The end of the warning of a write that runs only because the operator passed --force-version. */
export const FORCED = 'Going on because of --force-version.'

/**
 * The release rules, for every command. Returns a warning for a run that may go on, undefined when the database
 * is inside the window, and throws ConfigError (exit 4) when a write must not run:
 * - inside the window (1.0.0 – 1.15.0; MySQL from 1.10.1): nothing to say;
 * - newer than the CLI knows (descends from 1.15.0's head): reads warn; writes run with a warning only when their
 *   manifest was verified (checkRelease), else refuse; never a hint to run upgrade-db;
 * - older, unknown (pre-release or forked chain) or no schema: reads warn; writes refuse unless forced.
 */
export function checkSupported(profile: DifyProfile, opts: CheckOptions): string | undefined {
  if (profile.supported) return undefined
  if (profile.newerThanKnown) {
    const text = `The metadata database is at revision ${profile.revision}, newer than this CLI knows (it descends from Dify ${SUPPORTED_WINDOW.to}'s ${SUPPORTED_WINDOW.toHead}).`
    if (!opts.writes) return `${text} Read-only results use the facts of the newest known release.`
    if (opts.manifestVerified)
      return `${text} Every table and column this command touches is as this CLI knows it, so it goes on.`
    if (opts.force) return `${text} ${FORCED}`
    throw new ConfigError(`${text} This command cannot check what it touches on a newer schema.`, {
      hint: 'Use a dify-ops release that knows this Dify release, or pass --force-version if you know the difference does not matter (the database is ahead of this CLI, which cannot migrate it).',
      details: { revision: profile.revision, status: profile.status },
    })
  }
  const what = profile.revision
    ? `at revision ${profile.revision} (${profile.release?.description})`
    : 'without a single Dify schema revision (alembic_version is missing, empty or has several rows)'
  const text = `The metadata database is ${what}, outside the supported ${SUPPORTED_WINDOW_TEXT}.`
  if (opts.writes && !opts.force) {
    const offMain = profile.revision !== null && profile.revision in OFF_MAIN_REVISIONS
    const hint =
      profile.status === 'older'
        ? `Upgrade Dify to ${SUPPORTED_WINDOW.from} or later first (Dify's own flask upgrade-db; dify upgrade-db takes it on from there), or pass --force-version if you know the difference does not matter.`
        : offMain
          ? "This is a pre-release branch, not a stable Dify release: move to a stable release with Dify's own code, or pass --force-version if you know the difference does not matter."
          : profile.status === 'unknown'
            ? 'The revision is in no chain this CLI knows (a newer release, a pre-release or a fork): pass --dify-root (DIFY_OPS_DIFY_ROOT) with the Dify code in use if it is a newer release, or --force-version if you know the difference does not matter.'
            : "Create the schema first with dify upgrade-db, or check that DB_* points at Dify's database."
    throw new ConfigError(text, { hint, details: { revision: profile.revision, status: profile.status } })
  }
  return opts.writes ? `${text} ${FORCED}` : text
}

/**
 * checkSupported plus, for a writer on a database newer than the CLI knows, the introspection of its manifest:
 * every table, column (type, nullability) and primary key it touches must be as at the window's head, else exit 4
 * naming the first difference.
 */
export async function checkRelease(
  db: Db,
  profile: DifyProfile,
  opts: CheckOptions & { manifest?: Manifest; operation?: string },
): Promise<string | undefined> {
  // a writer may name its operation only (e.g. from a command's static property): its declared manifest is used
  const manifest =
    opts.manifest ??
    (opts.operation && opts.operation in MANIFESTS
      ? manifestFor(opts.operation as ManifestOperation, profile)
      : undefined)
  if (profile.newerThanKnown && opts.writes && !opts.force && manifest) {
    const diff = await verifyManifest(db, manifest)
    if (diff) {
      throw new ConfigError(
        `The metadata database is at revision ${profile.revision}, newer than this CLI knows, and ${diff}, so ${opts.operation ?? 'this command'} cannot run safely.`,
        {
          hint: 'Use a dify-ops release that knows this Dify release (the database is ahead of this CLI, which cannot migrate it); --force-version skips this check.',
          details: { revision: profile.revision, status: profile.status, difference: diff },
        },
      )
    }
    return checkSupported(profile, { ...opts, manifestVerified: true })
  }
  return checkSupported(profile, opts)
}
