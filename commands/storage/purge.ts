import { Args, DifyCommand } from '../../src/cli/command.js'
import { durationFlag, writeFlags, yesFlag } from '../../src/cli/flags.js'
import { InterruptedError } from '../../src/core/errors.js'
import { confirmOrStop } from '../../src/cli/prompt.js'
import { purgeRun, type PurgeResult } from '../../src/storage/purge.js'
import { renderPurge } from '../../src/storage/render.js'
import { formatBytes } from '../../src/storage/usage.js'
import { storageDeps } from '../../src/storage/deps.js'

export default class StoragePurge extends DifyCommand {
  static override writes = true
  /** Ctrl-C stops between two deletes; the manifest stays until every object is gone */
  static override gracefulInterrupt = true
  static override summary = 'Delete a quarantine run for good, once it is older than its grace period.'
  static override description =
    "Deletes every object under dify_ops_quarantine/<RUN-ID>/ and then its manifest. The run's age is counted from the manifest's createdAt; a run younger than --older-than is refused (exit 4, with the time that remains). Unknown run: exit 3. This cannot be undone: it confirms first (or --yes); --dry-run lists what would go."
  static override examples = [
    '<%= config.bin %> storage purge 20261206T141500Z-a1b2c3 --dry-run',
    '<%= config.bin %> storage purge 20261206T141500Z-a1b2c3 --older-than 30d --yes',
  ]
  static override args = {
    'run-id': Args.string({ required: true, description: 'the run id printed by storage quarantine' }),
  }
  static override flags = {
    'older-than': durationFlag({
      default: 30 * 86_400,
      summary: 'The grace period: only a run at least this old is deleted (e.g. 30d).',
    }),
    ...writeFlags,
    ...yesFlag,
  }

  async run(): Promise<PurgeResult> {
    const { args, flags } = await this.parse(StoragePurge)
    this.auditArgs = { runId: args['run-id'], olderThan: flags['older-than'] }
    const { storage } = await storageDeps(this.runtime())
    const r = await purgeRun(storage, args['run-id'], {
      olderThanSeconds: flags['older-than'],
      dryRun: flags['dry-run'],
      signal: this.abort.signal,
      confirm: async (plan) => {
        await confirmOrStop(
          `Delete quarantine run ${args['run-id']} for good: ${plan.objects} objects (${formatBytes(plan.bytes)}) of ${storage.location}?`,
          { yes: flags.yes, declined: 'Not confirmed: nothing was deleted.' },
        )
        this.auditCounts = { deleted: 0 }
      },
    })
    if (!r.dryRun) this.auditCounts = { deleted: r.deleted }
    if (this.abort.signal.aborted && r.deleted < r.objects.length)
      throw new InterruptedError(`Interrupted: ${r.deleted} of ${r.objects.length} objects were deleted.`, {
        hint: `Run the same purge again for the rest: dify storage purge ${r.runId}`,
      })
    for (const l of renderPurge(r)) this.out.log(l)
    return r
  }
}
