import { DifyCommand, Flags } from '../../src/cli/command.js'
import { secondsFlag } from '../../src/cli/flags.js'
import { brokerOf } from '../../src/queues/deps.js'
import { inspectWorkers, type WorkersResult } from '../../src/queues/workers.js'
import { renderWorkers, workersWarnings } from '../../src/queues/render.js'

export default class QueueWorkers extends DifyCommand {
  static override summary = 'Show live Celery workers: pool, running tasks, reserved and scheduled counts, queues.'
  static override description =
    'One remote-control broadcast (ping, stats, active_queues, active, reserved, scheduled) read straight from Redis, no Python. Ends as soon as every worker that received it has answered, otherwise after --timeout seconds of silence. The reply queue is registered before publishing and removed afterwards. Secrets in stats replies are removed.'
  static override examples = ['<%= config.bin %> queue workers', '<%= config.bin %> queue workers --timeout 3 --json']
  static override flags = {
    timeout: secondsFlag({
      default: 1,
      min: 0.001,
      max: 600,
      summary: 'Seconds of silence after the last reply before giving up on slow workers.',
    }),
    destination: Flags.string({
      multiple: true,
      summary: 'Only this worker (nodename, e.g. celery@host); repeatable.',
    }),
  }

  async run(): Promise<WorkersResult> {
    const { flags } = await this.parse(QueueWorkers)
    const timeout = flags.timeout
    const b = await brokerOf(this.runtime())
    const r = await inspectWorkers(b, {
      timeoutMs: timeout * 1000,
      destination: flags.destination,
      signal: this.abort.signal,
    })
    this.out.lines(renderWorkers(r, timeout))
    for (const w of workersWarnings(r)) this.out.warn(w)
    return r
  }
}
