import { DifyCommand, Flags } from '../../src/cli/command.js'
import { ExitCode } from '../../src/core/errors.js'
import { durationFlag, secondsFlag, writeFlags, yesFlag } from '../../src/cli/flags.js'
import { confirmOrStop } from '../../src/cli/prompt.js'
import { brokerOf } from '../../src/queues/connect.js'
import { broadcast } from '../../src/queues/pidbox.js'
import { listUnacked, restoreUnacked, VISIBILITY_TIMEOUT_S, type RestoreOutcome } from '../../src/queues/unacked.js'
import { printable } from '../../src/queues/render.js'

export interface RestoreJson {
  dryRun: boolean
  olderThanSeconds: number
  results: RestoreOutcome[]
  counts: { restored: number; cleaned: number; gone: number; skipped: number; heldByLiveWorkers: number }
  liveWorkers: string[]
}

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

  async run(): Promise<RestoreJson> {
    const { flags } = await this.parse(QueueRestoreUnacked)
    const older = flags['older-than']
    const timeout = flags.timeout
    this.auditArgs = { olderThan: older, includeLive: flags['include-live'] }
    const b = await brokerOf(this.runtime())
    let entries = await listUnacked(b, { olderThanS: older, keepRaw: true })
    const skipped: RestoreOutcome[] = []
    const liveWorkers: string[] = []
    // asking the workers is a broadcast (a reply queue is bound and published to): not under --dry-run
    const askWorkers = !flags['include-live'] && timeout > 0 && !flags['dry-run']
    if (entries.length && askWorkers) {
      const r = await broadcast(b, [{ method: 'active' }, { method: 'reserved' }, { method: 'scheduled' }], {
        timeoutMs: timeout * 1000,
        signal: this.abort.signal,
      })
      const heldBy = new Map<string, string>()
      for (const [method, byNode] of Object.entries(r.replies)) {
        for (const [node, list] of Object.entries(byNode)) {
          if (!liveWorkers.includes(node)) liveWorkers.push(node)
          if (!Array.isArray(list)) continue
          for (const item of list) {
            const info =
              method === 'scheduled' ? (item as { request?: { id?: unknown } })?.request : (item as { id?: unknown })
            if (typeof info?.id === 'string') heldBy.set(info.id, node)
          }
        }
      }
      entries = entries.filter((e) => {
        const node = e.id ? heldBy.get(e.id) : undefined
        if (node)
          skipped.push({
            deliveryTag: e.deliveryTag,
            id: e.id,
            task: e.task,
            queue: e.queue,
            outcome: 'skipped',
            targets: [],
            problem: `held by live worker ${node}`,
          })
        return !node
      })
    }
    const held = skipped.length
    const finish = (results: RestoreOutcome[], dryRun: boolean): RestoreJson => {
      const all = [...results, ...skipped]
      const n = (o: RestoreOutcome['outcome']) => all.filter((x) => x.outcome === o).length
      const counts = {
        restored: n('restored'),
        cleaned: n('cleaned'),
        gone: n('gone'),
        skipped: n('skipped'),
        heldByLiveWorkers: held,
      }
      return { dryRun, olderThanSeconds: older, results: all, counts, liveWorkers: liveWorkers.sort() }
    }
    if (held)
      this.out.log(`${held} message(s) are held by live workers (${liveWorkers.join(', ')}) and are left alone.`)
    if (!entries.length) {
      this.out.log(
        `Nothing to restore: no unacked message older than ${older} s${held ? ' that no live worker holds' : ''}.`,
      )
      return finish([], flags['dry-run'])
    }
    if (flags['dry-run']) {
      const plan = await restoreUnacked(b, entries, { dryRun: true })
      for (const p of plan)
        this.out.log(
          `would ${p.outcome === 'restored' ? 'restore' : p.outcome === 'cleaned' ? 'clean' : 'skip'} ${p.task ?? '?'} ${p.id ?? p.deliveryTag}${p.targets.length ? ` -> ${p.targets.map(printable).join(', ')}` : ''}${p.problem ? ` (${p.problem})` : ''}`,
        )
      if (!flags['include-live'] && timeout > 0)
        this.out.log(
          'Workers were not asked (that broadcast writes to the broker): the list includes messages a live worker may still hold; the real run leaves those alone.',
        )
      this.out.log('Dry run: nothing was changed.')
      return finish(plan, true)
    }
    await confirmOrStop(`Restore ${entries.length} unacked message(s) onto their queues?`, { yes: flags.yes })
    const results = await restoreUnacked(b, entries)
    const out = finish(results, false)
    this.auditCounts = { restored: out.counts.restored, cleaned: out.counts.cleaned, skipped: out.counts.skipped }
    this.out.log(
      `Restored ${out.counts.restored}, cleaned ${out.counts.cleaned} dangling index entr(y/ies), ${out.counts.gone} already gone, ${out.counts.skipped} skipped.`,
    )
    // skipped entries (no route, unreadable value) cannot be restored by anyone, kombu included: reported, left in place
    const unrestorable = results.filter((x) => x.outcome === 'skipped')
    for (const r of unrestorable) this.out.warn(`Skipped ${printable(r.deliveryTag)}: ${printable(r.problem ?? '')}.`)
    // some entries could not be restored: a partial write (exit 7), the report lists them
    if (unrestorable.length) this.setExitCode(ExitCode.partial)
    return out
  }
}
