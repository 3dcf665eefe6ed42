import { Args } from '@oclif/core'
import { DifyCommand } from '../../src/cli/command.js'
import { writeFlags } from '../../src/cli/flags.js'
import { retentionRestore, type RestoreResult } from '../../src/retention/restore.js'
import { renderRestore } from '../../src/retention/render.js'

export default class RetentionRestoreCmd extends DifyCommand {
  static override writes = true
  static override summary =
    'Put the rows of a `retention clean --archive-dir` archive back (rows whose key exists are skipped).'
  static override description =
    'Parents before children, one transaction per archived batch; each value goes back from its exact text with its column type, so the rows are byte for byte the deleted ones. Running it twice restores nothing the second time.'
  static override examples = ['<%= config.bin %> retention restore ./retention-archive --dry-run']
  static override args = {
    dir: Args.string({ required: true, description: 'The archive directory (--archive-dir of the clean).' }),
  }
  static override flags = { ...writeFlags }

  async run(): Promise<RestoreResult> {
    const { args, flags } = await this.parse(RetentionRestoreCmd)
    this.auditArgs = { dir: args.dir }
    const db = await this.runtime().db()
    const r = await retentionRestore(
      { db },
      { archiveDir: args.dir, dryRun: flags['dry-run'], signal: this.abort.signal },
    )
    if (!r.dryRun) this.auditCounts = { restored: r.tables.reduce((a, t) => a + t.restored, 0) }
    for (const l of renderRestore(r)) this.out.log(l)
    return r
  }
}
