import { DifyCommand } from '../../src/cli/command.js'
import { table } from '../../src/core/table.js'
import { durationFlag } from '../../src/cli/flags.js'
import { brokerOf } from '../../src/queues/connect.js'
import { listUnacked, VISIBILITY_TIMEOUT_S, type UnackedEntry } from '../../src/queues/unacked.js'
import { age, clip, printable } from '../../src/queues/render.js'

export interface UnackedJson {
  entries: UnackedEntry[]
  total: number
  /** entries older than kombu's visibility timeout: their worker is gone or they are about to be redelivered */
  overVisibilityTimeout: number
  visibilityTimeoutSeconds: number
}

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

  async run(): Promise<UnackedJson> {
    const { flags } = await this.parse(QueueUnacked)
    const older = flags['older-than'] ?? 0
    const b = await brokerOf(this.runtime())
    const entries = await listUnacked(b, { olderThanS: older })
    const over = entries.filter((e) => (e.ageSeconds ?? 0) >= VISIBILITY_TIMEOUT_S).length
    if (!entries.length) this.out.log('No unacked messages.')
    else {
      this.out.log(
        table(
          entries.map((e) => ({
            age: age(e.ageSeconds),
            queue: printable(e.queue),
            task: e.status === 'malformed' && !e.task ? `MALFORMED (${e.problem})` : printable(e.task),
            id: e.id ?? '',
            eta: e.eta ?? '',
            args: clip(e.args, 40),
            note: e.inconsistency ?? '',
          })),
          [
            { key: 'age', header: 'AGE' },
            { key: 'queue', header: 'QUEUE' },
            { key: 'task', header: 'TASK' },
            { key: 'id', header: 'ID' },
            { key: 'eta', header: 'ETA' },
            { key: 'args', header: 'ARGS' },
            { key: 'note', header: '' },
          ],
        ),
      )
      this.out.log('')
      this.out.log(
        `${entries.length} unacked message(s); ${over} older than the visibility timeout (${VISIBILITY_TIMEOUT_S} s).`,
      )
    }
    return {
      entries,
      total: entries.length,
      overVisibilityTimeout: over,
      visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_S,
    }
  }
}
