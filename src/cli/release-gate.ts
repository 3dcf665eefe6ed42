/**
 * The release check of every writing command, applied by the base command (command.ts) to the command's Runtime,
 * so no writing command can skip it: before the first connection of any kind is handed out, the metadata
 * database's alembic_version is read and checkRelease (src/dify/schema-version.ts: window, newer-than-known manifests) decides. Outside the
 * supported releases a write is exit 4 unless --force-version (then a warning); under --dry-run a warning only.
 *
 * Commands that only touch Redis (queue purge, account unlock, db lock clear, …) open the database for this check
 * too; with --force-version or --dry-run they do not (nothing is written, or the operator said the release does
 * not matter). `db upgrade` declares `releaseCheck = 'migrations'`: its planner refuses (exit 4) every database
 * state it does not upgrade, an empty database being the one it creates.
 */
import type { Runtime } from '../runtime/index.js'
import type { Db } from '../core/db.js'
import { ConfigError } from '../core/errors.js'
import {
  FORCED,
  checkRelease as checkDifyRelease,
  checkSupported,
  loadProfile,
  readAlembicVersions,
} from '../dify/schema-version.js'
import { SUPPORTED_WINDOW_TEXT } from '../dify/profile.js'

export interface WriteMode {
  dryRun: boolean
  forceVersion: boolean
  /** Dify code at hand (--dify-root / DIFY_OPS_DIFY_ROOT): tells a revision newer than this CLI knows */
  difyRoot?: string
  /** the command's operation (its id, `account:ban` → `account-ban`): its declared manifest is verified on a newer database */
  operation?: string
}

/** The check itself: throws ConfigError (exit 4) or returns a warning text (or undefined when supported). */
export async function checkRelease(db: Db, mode: WriteMode): Promise<string | undefined> {
  const writes = !mode.dryRun
  const versions = await readAlembicVersions(db)
  if (versions && versions.length > 1) {
    // Alembic keeps one row per head; several rows are a branched (0.6-era) or hand-edited table, not "no schema"
    const text = `alembic_version holds ${versions.length} rows (${versions.join(', ')}), so the Dify release is unknown; outside the supported ${SUPPORTED_WINDOW_TEXT}.`
    if (writes && !mode.forceVersion) {
      throw new ConfigError(text, {
        hint: 'Find out which revision the schema is at, fix alembic_version (dify db stamp REV --force-version), or pass --force-version.',
        details: { revisions: versions },
      })
    }
    return mode.forceVersion && writes ? `${text} ${FORCED}` : text
  }
  const profile = await loadProfile(db, { difyRoot: mode.difyRoot, versions })
  let w: string | undefined
  try {
    w = await checkDifyRelease(db, profile, { writes, force: mode.forceVersion, operation: mode.operation })
  } catch (e) {
    // no alembic_version: either an empty database (upgrade-db creates it) or Dify tables whose version row is lost,
    // which `db stamp REV --force-version` repairs
    if (e instanceof ConfigError && !profile.revision) {
      throw new ConfigError(e.message, {
        hint: "Create the schema with dify upgrade-db; if Dify's tables exist without alembic_version, record their revision with dify db stamp REV --force-version.",
        details: e.details,
      })
    }
    throw e
  }
  // a forced write's warning says so itself (checkSupported); a newer database whose manifest matched is not forced
  return w
}

/**
 * Guard a Runtime: the first db(), redis(), broker() or storage() call runs the release check first and fails
 * with its error. `mode()` is read at that moment (flags are parsed by then). Returns a function that lifts the
 * guard (the audit line is written after the command, refused or not).
 */
export function guardRuntime(rt: Runtime, mode: () => WriteMode, warn: (text: string) => void): () => void {
  const opened = {
    db: rt.db.bind(rt),
    redis: rt.redis.bind(rt),
    broker: rt.broker.bind(rt),
    storage: rt.storage.bind(rt),
  }
  let lifted = false
  let forGate = false
  const createEmbedded = rt.createEmbeddedDb
  // opened only to be checked: a missing embedded database is not created for that
  rt.createEmbeddedDb = () => !forGate && createEmbedded()
  let checked: Promise<void> | undefined
  const check = (viaOther: boolean): Promise<void> => {
    if (!checked) {
      forGate = viaOther
      const p = opened.db()
      forGate = false
      checked = p.then(async (d) => {
        try {
          const w = await checkRelease(d, mode())
          if (w) warn(w)
        } catch (e) {
          // no DB_* at all: the embedded default was checked, which is rarely what the operator meant
          if (e instanceof ConfigError && rt.config.db.embedded) {
            throw new ConfigError(
              `${e.message} No DB_* variable is set, so that is the embedded database in ${rt.config.db.pgliteDir}.`,
              {
                hint: 'Writing commands check the Dify release of the metadata database: set DB_* as in the dify-api container (or --env-file), or pass --force-version.',
                details: e.details,
              },
            )
          }
          throw e
        }
      })
    }
    return checked
  }
  rt.db = () => (lifted ? opened.db() : check(false).then(() => opened.db()))
  for (const kind of ['redis', 'broker', 'storage'] as const) {
    const open = opened[kind] as () => Promise<never>
    ;(rt as unknown as Record<typeof kind, () => Promise<unknown>>)[kind] = () => {
      const m = mode()
      // nothing is written, or the operator forced it: the database need not be opened for the check
      if (lifted || ((m.dryRun || m.forceVersion) && !rt.opened('db'))) return open()
      return check(true).then(() => open())
    }
  }
  return () => {
    lifted = true
  }
}

/**
 * The release notice of a read-only command: its first db() also reads the release, and a database outside the
 * supported window (newer than the CLI knows, older, unknown, no Dify schema) gets the warning the release rules give
 * a read (checkSupported), once; the output drops the same text said again by the command's own modules. A read is
 * never refused here, and a failure to read the release is left to the command, which reads it itself.
 */
export function noticeRuntime(rt: Runtime, difyRoot: () => string | undefined, warn: (text: string) => void): void {
  const open = rt.db.bind(rt)
  rt.db = async () => {
    rt.db = open
    const d = await open()
    try {
      const w = checkSupported(await loadProfile(d, { difyRoot: difyRoot() }), { writes: false })
      if (w) warn(w)
    } catch {
      // e.g. --dify-root without migrations: the command's own release reading reports it
    }
    return d
  }
}
