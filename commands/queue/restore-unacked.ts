import { DifyCommand, Flags } from '../../src/cli/command.js'
import { ExitCode } from '../../src/core/errors.js'
import { durationFlag, secondsFlag, writeFlags, yesFlag } from '../../src/cli/flags.js'
import { confirmOrStop } from '../../src/cli/prompt.js'
import { brokerOf } from '../../src/queues/deps.js'
import {
  listUnacked,
  restoreReport,
  restoreUnacked,
  setAsideHeld,
  VISIBILITY_TIMEOUT_S,
  type HeldByWorkers,
  type RestoreReport,
} from '../../src/queues/unacked.js'
import {
  renderHeld,
  renderNothingToRestore,
  renderRestored,
  renderRestorePlan,
  restoreWarnings,
} from '../../src/queues/render.js'

export default class QueueRestoreUnacked extends DifyCommand {
  static override writes = true
  static override summary = 'Put stale unacked messages back on their queues, exactly as kombu restores them.'
  static override description =
    "Each message is removed from `unacked`/`unacked_index` and pushed (redelivered flag set) onto the consuming end of its queue in one atomic Lua script that first checks the stored value, so it is never duplicated nor lost. Runs under kombu's unacked_mutex. Messages that live workers report as reserved, scheduled or active are skipped (ask them with --timeout; --include-live restores them anyway)."
  static override examples = [
    '<%= config.bin %> queue restore-unacked --dry-run',
    '<%= config.bin %> queue restore-unacked --older-than 10m --yes',
  ]
  static override flags = {
    'older-than': durationFlag({
      default: VISIBILITY_TIMEOUT_S,
      summary: "Only entries reserved at least this long ago (default: kombu's visibility timeout, 1h).",
    }),
    ...writeFlags,
    ...yesFlag,
    'include-live': Flags.boolean({
      default: false,
      summary: 'Also restore messages that a live worker holds (they may then run twice).',
    }),
    timeout: secondsFlag({
      default: 1,
      max: 600,
      summary: 'Seconds to wait for live workers to say what they hold (0: do not ask).',
    }),
  }

  async run(): Promise<RestoreReport> {
    const { flags } = await this.parse(QueueRestoreUnacked)
    const older = flags['older-than']
    const timeout = flags.timeout
    this.auditArgs = { olderThan: older, includeLive: flags['include-live'] }
    const b = await brokerOf(this.runtime())
    const listed = await listUnacked(b, { olderThanS: older, keepRaw: true })
    // asking the workers is a broadcast (a reply queue is bound and published to): not under --dry-run
    const askWorkers = !flags['include-live'] && timeout > 0 && !flags['dry-run']
    const h: HeldByWorkers =
      listed.length && askWorkers
        ? await setAsideHeld(b, listed, { timeoutMs: timeout * 1000, signal: this.abort.signal })
        : { entries: listed, held: [], liveWorkers: [] }
    this.out.lines(renderHeld({ held: h.held.length, liveWorkers: h.liveWorkers }))
    if (!h.entries.length) {
      this.out.lines(renderNothingToRestore(older, h.held.length))
      return restoreReport([], h, { olderThanS: older, dryRun: flags['dry-run'] })
    }
    if (flags['dry-run']) {
      const plan = await restoreUnacked(b, h.entries, { dryRun: true })
      this.out.lines(renderRestorePlan(plan, !flags['include-live'] && timeout > 0))
      return restoreReport(plan, h, { olderThanS: older, dryRun: true })
    }
    await confirmOrStop(`Restore ${h.entries.length} unacked message(s) onto their queues?`, { yes: flags.yes })
    const results = await restoreUnacked(b, h.entries)
    const out = restoreReport(results, h, { olderThanS: older, dryRun: false })
    this.auditCounts = { restored: out.counts.restored, cleaned: out.counts.cleaned, skipped: out.counts.skipped }
    this.out.lines(renderRestored(out))
    const unrestorable = restoreWarnings(results)
    for (const w of unrestorable) this.out.warn(w)
    // some entries could not be restored: a partial write (exit 7), the report lists them
    if (unrestorable.length) this.setExitCode(ExitCode.partial)
    return out
  }
}
