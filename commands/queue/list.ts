import { DifyCommand, Flags } from '../../src/cli/command.js'
import { table } from '../../src/cli/output.js'
import { UsageError } from '../../src/cli/errors.js'
import { brokerOf, expectedQueues } from '../../src/queues/connect.js'
import { listQueues, type QueueSnapshot } from '../../src/queues/list.js'
import { printable } from '../../src/queues/render.js'

export interface QueueListJson extends QueueSnapshot {
  queueList: { source: string; version: string | null; note: string | null }
  rates?: Record<string, { inPerSec: number; outPerSec: number }>
}

export default class QueueList extends DifyCommand {
  static override summary = 'List Celery queues with depth per priority, unacked count and consumers.'
  static override description =
    'Every queue the Dify worker consumes (CELERY_QUEUES, or the list of the connected release) plus every queue found in the broker (_kombu.binding.* sets and existing lists). Queues with messages and no consumer are flagged. Live workers are asked which queues they consume (pidbox active_queues) unless --no-workers.'
  static override examples = ['<%= config.bin %> queue list', '<%= config.bin %> queue list --json', '<%= config.bin %> queue list --watch 2']
  static override flags = {
    workers: Flags.boolean({ default: true, allowNo: true, summary: 'Ask live workers which queues they consume (--no-workers: read-only, no pidbox broadcast).' }),
    timeout: Flags.string({ default: '1', summary: 'Seconds to wait for worker replies (silence after the last reply).' }),
    watch: Flags.string({ summary: 'Refresh every N seconds and show the rate in and out per second (Ctrl-C to stop).' }),
  }

  async run(): Promise<QueueListJson> {
    const { flags } = await this.parse(QueueList)
    const timeout = Number(flags.timeout)
    if (!Number.isFinite(timeout) || timeout < 0) throw new UsageError(`--timeout must be a number of seconds, got "${flags.timeout}".`)
    const watch = flags.watch === undefined ? undefined : Number(flags.watch)
    if (watch !== undefined && (!Number.isFinite(watch) || watch <= 0)) throw new UsageError(`--watch must be a positive number of seconds, got "${flags.watch}".`)
    const rt = this.runtime()
    const b = await brokerOf(rt)
    const expected = await expectedQueues(rt)
    if (expected.note) this.out.warn(`${expected.note}.`)
    const snap = () => listQueues(b, { expected: expected.queues, workerTimeoutMs: flags.workers ? timeout * 1000 : 0, signal: this.abort.signal })
    let s = await snap()
    const queueList = { source: expected.source, version: expected.version, note: expected.note }
    if (watch === undefined || this.out.json) {
      this.render(s)
      return { ...s, queueList }
    }
    // --watch: in/out rates from successive snapshots (in = depth growth + consumed; out from unacked/depth drops)
    let prev = s
    for (;;) {
      this.render(s, prev, watch)
      await new Promise((r) => setTimeout(r, watch * 1000))
      if (this.abort.signal.aborted) break
      prev = s
      s = await snap()
      if (this.out.interactive) process.stdout.write('\x1b[H\x1b[2J')
    }
    return { ...s, queueList }
  }

  render(s: QueueSnapshot, prev?: QueueSnapshot, interval?: number): void {
    const before = new Map(prev?.queues.map((q) => [q.name, q]))
    const rows = s.queues.map((q) => {
      const p = before.get(q.name)
      const delta = p && interval ? (q.depth + q.unacked - p.depth - p.unacked) / interval : null
      return {
        queue: printable(q.name) + (q.expected ? '' : ' *'),
        depth: q.depth,
        p0: q.byPriority['0'],
        p3: q.byPriority['3'],
        p6: q.byPriority['6'],
        p9: q.byPriority['9'],
        unacked: q.unacked,
        rate: delta === null ? '' : `${delta >= 0 ? '+' : ''}${delta.toFixed(1)}/s`,
        consumers: q.consumers === null ? '?' : q.consumers.length ? q.consumers.join(',') : '-',
        flag: q.noConsumer ? 'NO CONSUMER' : '',
      }
    })
    const cols = [
      { key: 'queue', header: 'QUEUE' }, { key: 'depth', header: 'DEPTH' }, { key: 'p0', header: 'P0' }, { key: 'p3', header: 'P3' },
      { key: 'p6', header: 'P6' }, { key: 'p9', header: 'P9' }, { key: 'unacked', header: 'UNACKED' },
      ...(prev ? [{ key: 'rate', header: 'NET' }] : []), { key: 'consumers', header: 'CONSUMERS' }, { key: 'flag', header: '' },
    ]
    this.out.log(table(rows, cols))
    this.out.log('')
    this.out.log(`${s.totals.depth} waiting, ${s.totals.unacked} unacked (reserved/ETA).` + (s.workers.asked ? ` ${s.workers.nodes.length} live worker(s)${s.workers.nodes.length ? ': ' + s.workers.nodes.join(', ') : ''}.` : ' Workers not asked.'))
    if (s.queues.some((q) => !q.expected)) this.out.log('* not in the Dify worker queue list')
    const flagged = s.queues.filter((q) => q.noConsumer)
    if (flagged.length) this.out.warn(`${flagged.length} queue(s) have messages and no consumer: ${flagged.map((q) => printable(q.name)).join(', ')}.`)
  }
}
