import { DifyCommand } from '../../src/cli/command.js'
import { durationFlag, writeFlags, yesFlag } from '../../src/cli/flags.js'
import { ExitCode, InterruptedError } from '../../src/core/errors.js'
import { confirmOrStop } from '../../src/cli/prompt.js'
import { storageRefDeps } from '../../src/storage/deps.js'
import { quarantineOrphans, type QuarantineResult } from '../../src/storage/quarantine.js'
import { renderFinding, renderOrphansSummary } from '../../src/storage/render.js'
import { formatBytes } from '../../src/storage/usage.js'

export default class StorageQuarantine extends DifyCommand {
  static override writes = true
  /** Ctrl-C stops between two objects: none is left half-moved */
  static override gracefulInterrupt = true
  static override summary =
    'Move orphaned storage objects to dify_ops_quarantine/<run-id>/ with a manifest (undo: storage restore).'
  static override description =
    'Finds the orphans exactly as `storage orphans` does (default --min-age 7d), writes dify_ops_quarantine/<run-id>/manifest.json, then moves each object to dify_ops_quarantine/<run-id>/objects/<path> (copy, size check, delete). An object that got a file row since the scan is left in place. File rows whose object is missing are listed, never deleted. `dify storage restore RUN-ID` puts everything back.'
  static override examples = [
    '<%= config.bin %> storage quarantine --dry-run',
    '<%= config.bin %> storage quarantine --min-age 30d --yes',
  ]
  static override flags = {
    'min-age': durationFlag({
      default: 7 * 86_400,
      summary: 'Objects modified more recently than this are never moved (e.g. 7d, 30d).',
    }),
    ...writeFlags,
    ...yesFlag,
  }

  async run(): Promise<QuarantineResult> {
    const { flags } = await this.parse(StorageQuarantine)
    this.auditArgs = { minAge: flags['min-age'] }
    const deps = await storageRefDeps(this.runtime())
    const { storage } = deps
    const progress = this.out.progress('Finding orphans…')
    let r: QuarantineResult
    try {
      r = await quarantineOrphans(deps, {
        minAgeSeconds: flags['min-age'],
        dryRun: flags['dry-run'],
        signal: this.abort.signal,
        confirm: async (plan) => {
          progress.stop()
          await confirmOrStop(
            `Move ${plan.objects} orphaned objects (${formatBytes(plan.bytes)}) of ${storage.location} to quarantine?`,
            { yes: flags.yes, declined: 'Not confirmed: nothing was moved.' },
          )
          this.auditCounts = { moved: 0 }
        },
      })
    } finally {
      progress.stop()
    }
    if (r.runId) this.auditCounts = { moved: r.moved.length, failed: r.failed.length, skipped: r.skipped.length }
    if (this.abort.signal.aborted) {
      throw new InterruptedError(
        `Interrupted: ${r.moved.length} objects were moved${r.runId ? ` (run ${r.runId})` : ''}, the rest left in place.`,
        {
          hint: r.runId
            ? `Run the quarantine again for the rest, or undo with: dify storage restore ${r.runId}`
            : undefined,
        },
      )
    }
    for (const m of r.missing) this.out.log(renderFinding(m))
    for (const l of renderOrphansSummary(r.summary)) this.out.log(l)
    if (r.dryRun)
      this.out.log(
        `Dry run: would move ${r.summary.orphans} objects (${formatBytes(r.summary.orphanBytes)}). Nothing was changed.`,
      )
    else if (!r.runId) this.out.log('Nothing to move.')
    else {
      this.out.log(
        `Moved ${r.moved.length} objects to ${r.manifest!.replace(/manifest\.json$/, '')} (run ${r.runId}); undo with: dify storage restore ${r.runId}`,
      )
      for (const s of r.skipped) this.out.log(`kept ${s.path}: ${s.reason}`)
      for (const f of r.failed) this.out.warn(`could not move ${f.path}: ${f.error}`)
      if (r.failed.length) this.setExitCode(ExitCode.partial)
    }
    return r
  }
}
