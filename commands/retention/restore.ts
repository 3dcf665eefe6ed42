import { Args, Flags } from '@oclif/core'
import { DifyCommand } from '../../src/cli/command.js'
import { writeFlags } from '../../src/cli/flags.js'
import { UsageError } from '../../src/core/errors.js'
import { retentionRestore, type RestoreResult } from '../../src/retention/restore.js'
import { renderRestore } from '../../src/retention/render.js'

export default class RetentionRestoreCmd extends DifyCommand {
  static override writes = true
  static override summary =
    'Put the rows of a `retention clean --archive-dir` (or `--archive-storage`) archive back (rows whose key exists are skipped).'
  static override description =
    'Parents before children, one transaction per archived batch; each value goes back from its exact text with its column type, so the rows are byte for byte the deleted ones. Running it twice restores nothing the second time.'
  static override examples = [
    '<%= config.bin %> retention restore ./retention-archive --dry-run',
    '<%= config.bin %> retention restore --from-storage dify_ops_retention/2026-12',
  ]
  static override args = {
    dir: Args.string({ description: 'The archive directory (--archive-dir of the clean).' }),
  }
  static override flags = {
    'from-storage': Flags.string({
      summary: 'Read the archive from this prefix of the Dify storage (--archive-storage of the clean) instead of DIR.',
      exclusive: ['dir'],
    }),
    ...writeFlags,
  }

  async run(): Promise<RestoreResult> {
    const { args, flags } = await this.parse(RetentionRestoreCmd)
    if ((args.dir === undefined) === (flags['from-storage'] === undefined))
      throw new UsageError('Give the archive: a directory (DIR) or --from-storage PREFIX, one of them.', {
        hint: 'dify retention restore ./archive, or dify retention restore --from-storage PREFIX',
      })
    this.auditArgs = { dir: args.dir, fromStorage: flags['from-storage'] }
    const db = await this.runtime().db()
    const r = await retentionRestore(
      { db, storage: () => this.runtime().storage() },
      { archiveDir: args.dir, fromStorage: flags['from-storage'], dryRun: flags['dry-run'], signal: this.abort.signal },
    )
    if (!r.dryRun) this.auditCounts = { restored: r.tables.reduce((a, t) => a + t.restored, 0) }
    for (const l of renderRestore(r)) this.out.log(l)
    return r
  }
}
