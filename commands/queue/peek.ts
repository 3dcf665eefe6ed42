import { Args, DifyCommand, Flags } from '../../src/cli/command.js'
import { UsageError } from '../../src/core/errors.js'
import { brokerOf } from '../../src/queues/deps.js'
import { peekQueue, type PeekResult } from '../../src/queues/peek.js'
import { renderPeek } from '../../src/queues/render.js'

export default class QueuePeek extends DifyCommand {
  static override summary = 'Show the next messages of a queue in consumption order, without consuming them.'
  static override description =
    'Decodes Celery task protocol 1 and 2 (task, id, args/kwargs from argsrepr/kwargsrepr or the JSON body, ETA, retries, priority, root/parent ids, origin). Only JSON bodies are decoded: pickle, yaml and msgpack are shown as type and size only. Malformed messages are listed as malformed.'
  static override examples = [
    '<%= config.bin %> queue peek dataset',
    '<%= config.bin %> queue peek mail -n 50 --priority 9 --json',
  ]
  static override args = { queue: Args.string({ required: true, description: 'queue name' }) }
  static override flags = {
    count: Flags.integer({ char: 'n', default: 10, min: 1, max: 10000, summary: 'How many messages.' }),
    priority: Flags.integer({ summary: 'Only the list of this priority step (0, 3, 6 or 9).' }),
    raw: Flags.boolean({ default: false, summary: 'Include the raw envelope (up to 64 KiB each) in --json output.' }),
  }

  async run(): Promise<PeekResult> {
    const { args, flags } = await this.parse(QueuePeek)
    if (flags.priority !== undefined && ![0, 3, 6, 9].includes(flags.priority))
      throw new UsageError(`--priority must be 0, 3, 6 or 9 (kombu's priority steps), got ${flags.priority}.`)
    const b = await brokerOf(this.runtime())
    const r = await peekQueue(b, args.queue, { count: flags.count, priority: flags.priority, includeRaw: flags.raw })
    this.out.lines(renderPeek(r))
    return r
  }
}
