import { Args, DifyCommand, Flags } from '../../src/cli/command.js'
import { table } from '../../src/core/table.js'
import { brokerOf } from '../../src/queues/connect.js'
import { queueStats, type StatsResult } from '../../src/queues/peek.js'
import { printable } from '../../src/queues/render.js'

export default class QueueStats extends DifyCommand {
  static override summary = 'Count the messages of a queue by task name, with the ETA range, streamed in chunks.'
  static override description =
    'Reads every priority list of the queue in LRANGE chunks (memory stays bounded). On a busy queue the figures are a non-atomic snapshot.'
  static override examples = ['<%= config.bin %> queue stats dataset', '<%= config.bin %> queue stats dataset --json']
  static override args = { queue: Args.string({ required: true, description: 'queue name' }) }
  static override flags = {
    chunk: Flags.integer({ default: 2000, min: 10, max: 100000, summary: 'Messages read per LRANGE.' }),
  }

  async run(): Promise<StatsResult> {
    const { args, flags } = await this.parse(QueueStats)
    const b = await brokerOf(this.runtime())
    const progress = this.out.progress(`Reading ${printable(args.queue)}…`)
    let r: StatsResult
    try {
      r = await queueStats(b, args.queue, {
        chunk: flags.chunk,
        signal: this.abort.signal,
        onProgress: (n) => progress.update(`Reading ${printable(args.queue)}: ${n} messages`),
      })
    } finally {
      progress.stop()
    }
    this.out.log(
      `${printable(r.queue)}: ${r.scanned} messages, ${(r.bytes / 1024).toFixed(1)} KiB (P0 ${r.byPriority['0'] ?? 0}, P3 ${r.byPriority['3'] ?? 0}, P6 ${r.byPriority['6'] ?? 0}, P9 ${r.byPriority['9'] ?? 0}) in ${r.elapsedMs} ms`,
    )
    if (r.tasks.length) {
      this.out.log('')
      this.out.log(
        table(
          r.tasks.map((t) => ({
            ...t,
            task: printable(t.task),
            oldestEta: t.oldestEta ?? '',
            newestEta: t.newestEta ?? '',
          })),
          [
            { key: 'task', header: 'TASK' },
            { key: 'count', header: 'COUNT' },
            { key: 'withEta', header: 'WITH ETA' },
            { key: 'oldestEta', header: 'OLDEST ETA' },
            { key: 'newestEta', header: 'NEWEST ETA' },
            { key: 'redelivered', header: 'REDELIVERED' },
          ],
        ),
      )
    }
    if (r.malformed) this.out.log(`${r.malformed} malformed message(s).`)
    for (const [t, n] of Object.entries(r.opaque)) this.out.log(`${n} message(s) with content type ${t} (not decoded).`)
    return r
  }
}
