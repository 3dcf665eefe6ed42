import { DifyCommand } from '../../src/cli/command.js'
import { durationFlag } from '../../src/cli/flags.js'
import { brokerOf } from '../../src/queues/deps.js'
import { listUnacked, unackedReport, type UnackedReport } from '../../src/queues/unacked.js'
import { renderUnacked } from '../../src/queues/render.js'

export default class QueueUnacked extends DifyCommand {
  static override summary = 'List messages reserved by workers (prefetched and ETA/countdown tasks) with their age.'
  static override description =
    'Reads the kombu `unacked` hash and `unacked_index` zset. Entries of killed workers stay there until a worker redelivers them after the visibility timeout (3600 s); `dify queue restore-unacked` puts them back sooner. Read-only.'
  static override examples = [
    '<%= config.bin %> queue unacked',
    '<%= config.bin %> queue unacked --older-than 1h --json',
  ]
  static override flags = {
    'older-than': durationFlag({ summary: 'Only entries reserved at least this long ago (e.g. 90s, 15m, 2h).' }),
  }

  async run(): Promise<UnackedReport> {
    const { flags } = await this.parse(QueueUnacked)
    const b = await brokerOf(this.runtime())
    const r = unackedReport(await listUnacked(b, { olderThanS: flags['older-than'] ?? 0 }))
    this.out.lines(renderUnacked(r))
    return r
  }
}
