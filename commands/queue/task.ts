import { Args, DifyCommand } from '../../src/cli/command.js'
import { secondsFlag } from '../../src/cli/flags.js'
import { brokerOf, expectedQueues } from '../../src/queues/deps.js'
import { discoverQueues } from '../../src/queues/broker.js'
import { findTask, type TaskLocation } from '../../src/queues/task.js'
import { renderTask } from '../../src/queues/render.js'

export default class QueueTask extends DifyCommand {
  /** no release notice: its note says which release decided the queue set */
  static override releaseNotice = false
  static override summary = 'Find a task by id: its result record, a worker running or holding it, unacked, or a queue.'
  static override description =
    'Dify ignores task results (task_ignore_result), so a task that is nowhere is reported as "unknown" (finished, lost or never sent), not as pending.'
  static override examples = ['<%= config.bin %> queue task 4aac2f1c-7436-4ad2-9fcc-e3302b2ad45d']
  static override args = { id: Args.string({ required: true, description: 'task id' }) }
  static override flags = {
    timeout: secondsFlag({ default: 1, max: 600, summary: 'Seconds to wait for live workers (0: do not ask them).' }),
  }

  async run(): Promise<TaskLocation> {
    const { args, flags } = await this.parse(QueueTask)
    const timeout = flags.timeout
    const rt = this.runtime()
    const b = await brokerOf(rt)
    const expected = await expectedQueues(rt)
    const found = await discoverQueues(b)
    const queues = [...new Set([...expected.queues, ...found.bound, ...found.lists])]
    const r = await findTask(b, args.id, { queues, workerTimeoutMs: timeout * 1000, signal: this.abort.signal })
    this.out.lines(renderTask(r))
    return r
  }
}
