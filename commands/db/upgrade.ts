import { DifyCommand, Flags } from '../../src/cli/command.js'
import { writeFlags } from '../../src/cli/flags.js'
import { dialectOf, migrationDeps } from '../../src/migrations/deps.js'
import type { RunEvent } from '../../src/migrations/runner.js'
import { appliedNotice, renderUpgrade, upgradeEventNotice, upgradeProgressText } from '../../src/migrations/render.js'
import { upgradeDb, upgradeSql, DEFAULTS, type SqlResult, type UpgradeResult } from '../../src/migrations/upgrade.js'

export default class DbUpgrade extends DifyCommand {
  static override aliases = ['upgrade-db']
  static override writes = true
  /** the migration planner decides which database states it upgrades (exit 4 for the others), empty ones included */
  static override releaseCheck = 'migrations' as const
  /** SIGINT stops after the current revision (or stops waiting), releases the locks and exits 130 */
  static override gracefulInterrupt = true
  /** --lock-timeout / --statement-timeout (shared flags) default to 10 s and no limit here: DDL may run long */
  static override dbTimeouts = { lockS: DEFAULTS.lockTimeoutMs / 1000, statementS: DEFAULTS.statementTimeoutMs / 1000 }
  static override summary = 'Bring the metadata database to the schema of the target Dify release (Alembic-compatible).'
  static override description = `Applies Dify's migrations revision by revision and keeps alembic_version in Dify's ids, so Dify's own flask upgrade-db afterwards is a no-op.
Target: --to REV, else the head of the Dify code at hand (--dify-root, or /app/api/migrations/versions inside dify-api), else this CLI's head.
Takes Dify's Redis lock db_upgrade_lock (renewed while migrating) and a database lock; waits for a held lock up to --timeout.
Exit codes: 0 done (or already at target), 1 a revision failed, 2 bad flag or unknown --to, 4 database state this CLI will not touch, 5 unreachable, 6 lock held (--no-wait or timeout).`
  static override examples = [
    '<%= config.bin %> upgrade-db',
    '<%= config.bin %> db upgrade --dry-run',
    '<%= config.bin %> db upgrade --sql --from base > schema.sql',
    '<%= config.bin %> db upgrade --to 03ea244985ce --no-wait --json',
  ]
  static override flags = {
    to: Flags.string({ summary: 'Target revision (id, unique prefix, or "head").' }),
    sql: Flags.boolean({
      summary: 'Print the SQL that would run for the target dialect; writes nothing.',
      exclusive: ['dry-run'],
    }),
    from: Flags.string({
      summary:
        'With --sql: start revision ("base" = empty database); nothing is connected. Without it, --sql reads the current revision from the database.',
      dependsOn: ['sql'],
    }),
    'dry-run': writeFlags['dry-run'],
    'no-wait': Flags.boolean({ summary: 'Exit 6 at once when another upgrade holds the lock.' }),
    timeout: Flags.integer({ summary: 'Seconds to wait for a held lock.', default: DEFAULTS.timeoutMs / 1000, min: 0 }),
  }

  async run(): Promise<UpgradeResult | SqlResult> {
    const { flags } = await this.parse(DbUpgrade)
    const rt = this.runtime()
    const deps = migrationDeps(rt)
    const target = { to: flags.to, difyRoot: rt.config.difyRoot }
    const { lockTimeoutMs, statementTimeoutMs } = this.dbLimits()
    const timeouts = { lockTimeoutMs, statementTimeoutMs }
    this.auditArgs = { to: flags.to, difyRoot: rt.config.difyRoot }
    if (flags.sql) {
      const r = await upgradeSql(deps, { ...target, ...timeouts, from: flags.from, dialect: dialectOf(rt) })
      this.out.write(r.sql)
      return r
    }
    const progress = this.out.progress('Preparing database migration…')
    const onEvent = (e: RunEvent) => {
      const text = upgradeProgressText(e)
      if (text !== null) progress.update(text)
      const notice = upgradeEventNotice(e)
      if (notice !== null) this.out.stderr(notice)
      const applied = appliedNotice(e)
      if (applied !== null && !this.out.interactive && !this.out.json) this.out.stderr(applied)
      if (e.type === 'warn') this.out.warn(e.message)
    }
    let r: UpgradeResult
    try {
      r = await upgradeDb(deps, {
        ...target,
        ...timeouts,
        dryRun: flags['dry-run'],
        noWait: flags['no-wait'],
        timeoutMs: flags.timeout * 1000,
        onEvent,
        signal: this.abort.signal,
      })
    } finally {
      progress.stop()
    }
    // nothing written (up to date, dry run): no audit line (and no Redis round trip)
    if (r.status !== 'up-to-date' && r.status !== 'dry-run') this.auditCounts = { revisions: r.applied.length }
    this.out.lines(renderUpgrade(r))
    return r
  }
}
