import { Flags } from '@oclif/core'
import { DifyCommand } from '../../src/cli/command.js'
import { boundedIntFlag, durationFlag, secondsFlag, uuidFlag, writeFlags, yesFlag } from '../../src/cli/flags.js'
import { confirmOrStop } from '../../src/cli/prompt.js'
import { ExitCode, InterruptedError, UsageError } from '../../src/core/errors.js'
import { retentionDeps } from '../../src/retention/deps.js'
import { RETENTION_GROUPS, type RetentionGroup } from '../../src/dify/retention-map.js'
import { retentionClean, type CleanResult } from '../../src/retention/clean.js'
import { renderClean } from '../../src/retention/render.js'
import { formatBytes } from '../../src/storage/usage.js'

export default class RetentionCleanCmd extends DifyCommand {
  static override writes = true
  /** Ctrl-C finishes the batch in flight, then exits 130; a rerun resumes from the checkpoint */
  static override gracefulInterrupt = true
  static override dbTimeouts = { lockS: 2, statementS: 60 }
  static override summary =
    'Delete workflow runs, messages and conversations older than the cut-off, with everything that belongs to them, in short resumable batches.'
  static override description =
    'Never touched: rows newer than the cut-off, workflow runs that are not over (running, paused, scheduled) and their children, conversations that still have a message. Batches follow the (created_at, id) index, children before parents, one transaction each under --lock-timeout (default 2 s); it backs off while sessions wait for locks (or, with --max-lag, while replicas lag). --archive-dir keeps every deleted row (gzip JSON Lines per batch and table, manifest.json) for `dify retention restore`. A cut-off under 1 day needs --force (else exit 2).'
  static override examples = [
    '<%= config.bin %> retention clean --older-than 30d --dry-run',
    '<%= config.bin %> retention clean --older-than 90d --tables workflow --archive-dir ./archive --yes',
  ]
  static override flags = {
    'older-than': durationFlag({
      default: 30 * 86_400,
      summary: 'The cut-off: rows created before now minus this (default 30d; under 1d needs --force).',
    }),
    tables: Flags.string({
      summary: `Only these groups, comma-separated: ${RETENTION_GROUPS.join(',')}.`,
      delimiter: ',',
      multiple: true,
      options: [...RETENTION_GROUPS],
    }),
    app: uuidFlag({ multiple: true, summary: 'Only this app (repeatable).' }),
    tenant: uuidFlag({ multiple: true, summary: 'Only this workspace (repeatable).' }),
    'batch-size': boundedIntFlag({
      min: 1,
      max: 10_000,
      default: 200,
      summary: 'Root rows (runs, messages, conversations) per batch.',
    }),
    'max-runtime': durationFlag({ summary: 'Stop after this long (a rerun continues), e.g. 1h.' }),
    'sleep-between': durationFlag({ default: 0.2, summary: 'Pause between batches (e.g. 200ms).' }),
    'max-lag': secondsFlag({
      summary: 'PostgreSQL: back off while a replica replays more than this many seconds behind.',
    }),
    'max-lock-waits': boundedIntFlag({
      min: 0,
      max: 10_000,
      default: 5,
      summary: 'Back off while more sessions than this wait for a lock.',
    }),
    'archive-dir': Flags.string({
      summary: 'Keep every deleted row here (gzip JSON Lines per batch and table) for `retention restore`.',
      exclusive: ['archive-storage'],
    }),
    'archive-storage': Flags.string({
      summary:
        'The same archive under this prefix of the Dify storage instead of a directory (`retention restore --from-storage PREFIX`).',
    }),
    files: Flags.string({
      summary:
        'Upload files named by deleted rows: list their ids (default), or quarantine those nothing else names (rows deleted, objects moved to a `dify storage restore`-able run).',
      options: ['list', 'quarantine'],
      default: 'list',
    }),
    vacuum: Flags.boolean({ summary: 'PostgreSQL: run VACUUM (ANALYZE) on the tables cleaned.' }),
    force: Flags.boolean({ summary: 'Allow a cut-off under 1 day.' }),
    ...writeFlags,
    ...yesFlag,
  }

  async run(): Promise<CleanResult> {
    const { flags } = await this.parse(RetentionCleanCmd)
    if (flags['older-than'] < 86_400 && !flags.force)
      throw new UsageError(
        `A cut-off under 1 day (--older-than ${flags['older-than']}s) would delete recent history.`,
        {
          hint: 'Pass --force if that is really meant.',
        },
      )
    if (flags['archive-storage'] !== undefined && !flags['archive-storage'].replace(/^[\s/]+|[\s/]+$/g, ''))
      throw new UsageError('--archive-storage needs a prefix, not the storage root.', {
        hint: 'e.g. --archive-storage dify_ops_retention/2026-12',
      })
    this.auditArgs = {
      olderThan: flags['older-than'],
      tables: flags.tables,
      app: flags.app,
      tenant: flags.tenant,
      archiveDir: flags['archive-dir'],
      archiveStorage: flags['archive-storage'],
      files: flags.files,
    }
    const deps = await retentionDeps(this.runtime())
    const progress = this.out.progress('Counting…')
    let r: CleanResult
    try {
      r = await retentionClean(deps, {
        olderThanSeconds: flags['older-than'],
        groups: flags.tables as RetentionGroup[] | undefined,
        apps: flags.app,
        tenants: flags.tenant,
        batchSize: flags['batch-size'],
        maxRuntimeMs: flags['max-runtime'] !== undefined ? flags['max-runtime'] * 1000 : undefined,
        sleepBetweenMs: flags['sleep-between'] * 1000,
        maxLagSeconds: flags['max-lag'],
        maxLockWaits: flags['max-lock-waits'],
        archiveDir: flags['archive-dir'],
        archiveStorage: flags['archive-storage'],
        dryRun: flags['dry-run'],
        vacuum: flags.vacuum,
        files: flags.files as 'list' | 'quarantine',
        signal: this.abort.signal,
        confirm: async (plan) => {
          progress.stop()
          const rows = plan.tables.reduce((a, t) => a + t.rowsOlder, 0)
          const bytes = plan.tables.reduce((a, t) => a + t.estimatedBytes, 0)
          await confirmOrStop(
            `Delete ${plan.exact ? '' : 'about '}${rows} rows (~${formatBytes(bytes)}) created before ${plan.cutoff}${flags['archive-dir'] || flags['archive-storage'] ? ` (archived to ${flags['archive-dir'] ?? `storage:${flags['archive-storage']}`})` : ' (no archive)'}${flags.files === 'quarantine' ? ', and the upload files only they name (objects to a storage quarantine run)' : ''}?`,
            { yes: flags.yes, declined: 'Not confirmed: nothing was deleted.' },
          )
          this.auditCounts = { deleted: 0 }
        },
        onBatch: (p) => progress.update?.(`${p.group}: batch ${p.batch}, ${p.deleted} rows deleted`),
      })
    } finally {
      progress.stop()
    }
    if (!r.dryRun)
      this.auditCounts = {
        deleted: r.tables.reduce((a, t) => a + t.rowsDeleted, 0),
        batches: r.batches,
        ...(r.files.quarantine ? { filesQuarantined: r.files.quarantine.moved.length } : {}),
      }
    if (r.stoppedBy === 'interrupt')
      throw new InterruptedError(
        `Interrupted after ${r.batches} batches (${r.tables.reduce((a, t) => a + t.rowsDeleted, 0)} rows deleted); the batch in flight finished.`,
        {
          hint: 'Run the same command again to continue from the checkpoint.',
        },
      )
    for (const l of renderClean(r)) this.out.log(l)
    // objects that could not be moved: exit 7 (a rerun retries them)
    if (r.files.quarantine?.failed.length) this.setExitCode(ExitCode.partial)
    return r
  }
}
