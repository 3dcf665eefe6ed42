import { DifyCommand, Flags } from '../../src/cli/command.js'
import { writeFlags } from '../../src/cli/flags.js'
import { dialectOf, migrationDeps } from '../../src/migrations/deps.js'
import type { RunEvent } from '../../src/migrations/runner.js'
import { impactLines } from '../../src/migrations/impact.js'
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
    'dify-root': Flags.string({
      summary: 'Dify code whose migrations decide the target (DIR/api/migrations/versions or DIR/migrations/versions).',
    }),
  }

  async run(): Promise<UpgradeResult | SqlResult> {
    const { flags } = await this.parse(DbUpgrade)
    const rt = this.runtime()
    const deps = migrationDeps(rt)
    const target = { to: flags.to, difyRoot: flags['dify-root'] }
    const { lockTimeoutMs, statementTimeoutMs } = this.dbLimits()
    const timeouts = { lockTimeoutMs, statementTimeoutMs }
    this.auditArgs = { to: flags.to, difyRoot: flags['dify-root'] }
    if (flags.sql) {
      const r = await upgradeSql(deps, { ...target, ...timeouts, from: flags.from, dialect: dialectOf(rt) })
      if (!this.out.json) process.stdout.write(r.sql)
      return r
    }
    const progress = this.out.progress('Preparing database migration…')
    const onEvent = (e: RunEvent) => {
      if (e.type === 'wait') {
        progress.update(
          `Waiting for ${e.lock === 'redis' ? "Dify's upgrade lock (db_upgrade_lock)" : 'the database lock'}${e.ttlMs !== null ? `, holder's lock expires in ${Math.ceil(e.ttlMs / 1000)} s unless renewed` : ''}; waited ${Math.round(e.waitedMs / 1000)} s`,
        )
      } else if (e.type === 'revision') {
        progress.update(`Applying ${e.revision}: ${e.description}`)
        if (e.dialect === 'mysql') {
          process.stderr.write(
            `About to apply ${e.revision} (${e.description}), ${e.statements.length} statement(s), not transactional on MySQL:\n${e.statements.map((s) => `  ${s}\n`).join('')}`,
          )
        }
      } else if (e.type === 'revision-done') {
        if (!this.out.interactive && !this.out.json) process.stderr.write(`Applied ${e.revision} (${e.ms} ms)\n`)
      } else if (e.type === 'warn') {
        this.out.warn(e.message)
      }
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
    const at = (rev: string | null, rel: string | null) =>
      rev ? `${rev}${rel ? ` (${rel})` : ''}` : 'an empty database'
    this.out.log(
      `Database: ${r.database} (${r.dialect}, DDL ${r.transactionalDdl ? 'transactional' : 'not transactional'})`,
    )
    this.out.log(
      `Target:   ${r.target.revision} (${r.target.source === 'cli' ? "this CLI's head" : r.target.source === 'flag' ? '--to' : `head of the Dify code in ${r.target.difyCodeDir}`})`,
    )
    if (r.status === 'dry-run') {
      this.out.log(`Current:  ${at(r.from, r.fromRelease)}`)
      if (!r.pending.length) this.out.log('Already at the target; nothing would run.')
      else {
        this.out.log(`Would apply ${r.pending.length} revision(s) (dry run, nothing written):`)
        for (const p of r.pending) {
          this.out.log(`  ${p.revision}  ${p.release.padEnd(7)} ${p.description}`)
          for (const l of impactLines(p, '      ')) this.out.log(l)
        }
        for (const e of r.dataEffects ?? [])
          this.out.log(
            `  data: ${e.revision} ${e.description}: ${e.rows === null ? 'not countable yet' : `${e.rows} row(s)`}`,
          )
        if (r.schema?.differences.length)
          this.out.log(
            `  schema: ${r.schema.differences.length} difference(s) from the schema expected at ${r.schema.revision}: ${r.schema.suggestion.message} (details: dify db status)`,
          )
      }
      if (r.lockHolder?.held)
        this.out.log(
          `Dify's upgrade lock is held now (expires in ${r.lockHolder.ttlMs !== null ? Math.ceil(r.lockHolder.ttlMs / 1000) + ' s' : 'never'}).`,
        )
    } else if (r.status === 'up-to-date') {
      this.out.log(
        r.completedByOther
          ? `Another upgrade brought the database to ${r.to} while this one waited; nothing left to do.`
          : `Already at ${at(r.to, r.fromRelease)}; nothing to do.`,
      )
    } else {
      for (const a of r.applied) this.out.log(`  applied ${a.revision}  ${a.description} (${a.ms} ms)`)
      this.out.log(`Upgraded from ${at(r.from, r.fromRelease)} to ${r.to}: ${r.applied.length} revision(s).`)
    }
    return r
  }
}
