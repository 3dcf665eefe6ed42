import { Args, DifyCommand, Flags } from '../../src/cli/command.js'
import { writeFlags, yesFlag } from '../../src/cli/flags.js'
import { confirmOrStop } from '../../src/cli/prompt.js'
import { brokerOf } from '../../src/queues/deps.js'
import { countPurge, purgeQueue, purgeTask, type PurgeResult } from '../../src/queues/purge.js'
import { purgeQuestion, renderPurge } from '../../src/queues/render.js'

export default class QueuePurge extends DifyCommand {
  static override writes = true
  static override summary = 'Remove the waiting messages of a queue (all priority lists), or only those of one task.'
  static override description =
    'Like `celery purge` for one queue: every priority list is emptied in one MULTI. With --task only the messages of that task name are removed, each by its exact payload, leaving all others in place. Messages already reserved by workers (unacked) are not touched.'
  static override examples = [
    '<%= config.bin %> queue purge dataset --dry-run',
    '<%= config.bin %> queue purge dataset --task tasks.document_indexing_task.document_indexing_task --yes',
  ]
  static override args = { queue: Args.string({ required: true, description: 'queue name' }) }
  static override flags = {
    task: Flags.string({ summary: 'Remove only the messages of this task name.' }),
    ...writeFlags,
    ...yesFlag,
  }

  async run(): Promise<PurgeResult> {
    const { args, flags } = await this.parse(QueuePurge)
    this.auditArgs = { queue: args.queue, task: flags.task ?? null }
    const b = await brokerOf(this.runtime())
    const target = { queue: args.queue, task: flags.task ?? null }
    // the count is for --dry-run and the question; with --yes it would be a second pass over a --task queue
    if (flags['dry-run'] || !flags.yes) {
      const counted = await countPurge(b, args.queue, target.task)
      if (flags['dry-run']) {
        this.out.lines(renderPurge(counted, { ...target, stage: 'dry-run' }))
        return counted
      }
      if (counted.removed === 0) {
        this.out.lines(renderPurge(counted, { ...target, stage: 'nothing' }))
        return { ...counted, dryRun: false }
      }
      await confirmOrStop(purgeQuestion(counted, target), {
        yes: flags.yes,
        declined: 'Not confirmed: nothing was removed.',
      })
    }
    const r = flags.task ? await purgeTask(b, args.queue, flags.task) : await purgeQueue(b, args.queue)
    if (r.removed === 0) {
      this.out.lines(renderPurge(r, { ...target, stage: 'nothing' }))
      return r
    }
    this.auditCounts = { removed: r.removed }
    this.out.lines(renderPurge(r, { ...target, stage: 'done' }))
    return r
  }
}
