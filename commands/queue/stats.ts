import { Args, DifyCommand, Flags } from '../../src/cli/command.js'
import { brokerOf } from '../../src/queues/deps.js'
import { queueStats, type StatsResult } from '../../src/queues/peek.js'
import { printable, renderStats } from '../../src/queues/render.js'

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
    this.out.lines(renderStats(r))
    return r
  }
}
