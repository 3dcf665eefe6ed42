import { DifyCommand, Flags } from '../../src/cli/command.js'
import { secondsFlag } from '../../src/cli/flags.js'
import { brokerOf, expectedQueues } from '../../src/queues/deps.js'
import { listQueues, type QueueSnapshot } from '../../src/queues/list.js'
import { queueListWarnings, renderQueueList } from '../../src/queues/render.js'
import { RateTracker, type QueueRate } from '../../src/queues/rates.js'

export interface QueueListJson extends QueueSnapshot {
  queueList: { source: string; version: string | null; note: string | null }
  /** --watch only: per queue, the messages in and out since the previous refresh (null on the first one) */
  rates?: Record<string, QueueRate> | null
}

export default class QueueList extends DifyCommand {
  /** no release notice: its note says which release decided the queue set */
  static override releaseNotice = false
  static override summary = 'List Celery queues with depth per priority, unacked count and consumers.'
  static override description =
    "Every queue the Dify worker consumes (CELERY_WORKER_QUEUES or CELERY_QUEUES as the connected release's entrypoint reads them, else that release's default list) plus every queue found in the broker (_kombu.binding.* sets and existing lists). Queues with messages and no consumer are flagged. Live workers are asked which queues they consume (pidbox active_queues) unless --no-workers. With --watch, the messages in and out per second are measured between refreshes (docs/queues.md), and --json prints one JSON line per refresh."
  static override examples = [
    '<%= config.bin %> queue list',
    '<%= config.bin %> queue list --json',
    '<%= config.bin %> queue list --watch 2',
    '<%= config.bin %> queue list --watch 5 --json --no-workers',
  ]
  static override flags = {
    workers: Flags.boolean({
      default: true,
      allowNo: true,
      summary: 'Ask live workers which queues they consume (--no-workers: read-only, no pidbox broadcast).',
    }),
    timeout: secondsFlag({
      default: 1,
      max: 600,
      summary: 'Seconds to wait for worker replies (silence after the last reply).',
    }),
    watch: secondsFlag({
      min: 0.1,
      max: 86_400,
      summary: 'Refresh every N seconds and show the rate in and out per second (Ctrl-C to stop).',
    }),
  }

  async run(): Promise<QueueListJson | undefined> {
    const { flags } = await this.parse(QueueList)
    const timeout = flags.timeout
    const watch = flags.watch
    const rt = this.runtime()
    const b = await brokerOf(rt)
    const expected = await expectedQueues(rt)
    if (expected.note) this.out.warn(`${expected.note}.`)
    const snap = () =>
      listQueues(b, {
        expected: expected.queues,
        workerTimeoutMs: flags.workers ? timeout * 1000 : 0,
        signal: this.abort.signal,
      })
    const queueList = { source: expected.source, version: expected.version, note: expected.note }
    if (watch === undefined) {
      const s = await snap()
      this.render(s)
      return { ...s, queueList }
    }
    // --watch: until Ctrl-C (exit 130); rates from successive samples of the lists (src/queues/rates.ts)
    const tracker = new RateTracker(b)
    for (;;) {
      const s = await snap()
      const rates = await tracker.sample(s.queues.map((q) => q.name))
      if (this.out.json) {
        const line: QueueListJson = { ...s, queueList, rates: rates ? Object.fromEntries(rates) : null }
        this.out.jsonValue(line)
      } else {
        this.out.clearScreen()
        this.render(s, rates)
      }
      await new Promise((r) => setTimeout(r, watch * 1000))
      if (this.abort.signal.aborted) return undefined
    }
  }

  render(s: QueueSnapshot, rates?: Map<string, QueueRate> | null): void {
    this.out.lines(renderQueueList(s, rates))
    for (const w of queueListWarnings(s)) this.out.warn(w)
  }
}
