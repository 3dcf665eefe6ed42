import { DifyCommand, Flags } from '../../src/cli/command.js'
import { secondsFlag, uuidFlag, writeFlags, yesFlag } from '../../src/cli/flags.js'
import { confirmOrStop } from '../../src/cli/prompt.js'
import { documentsDeps } from '../../src/documents/deps.js'
import { renderRequeue } from '../../src/documents/render.js'
import { planRequeue, runRequeue, summarise, type RequeueResult } from '../../src/documents/requeue.js'

export default class DocumentsRequeue extends DifyCommand {
  static override writes = true
  static override summary = 'Re-dispatch orphaned and blocked documents as Dify would, or mark them as error.'
  static override description =
    "Runs the `documents stuck` analysis (live workers asked), then re-dispatches each orphaned document with the re-run Dify itself uses for its situation on the connected release: the indexing task when nothing was done yet, retry when an earlier run left segments or the dataset is a RAG pipeline, sync-website for a crawled page with segments, recover for a paused document named with --document (same task, queue and arguments, with the status and flags Dify writes first; the message byte-compatible with Celery's .delay()). Stale tenant queues (document and pipeline) are unblocked the way Dify's task does (take the next entry, set the running flag, dispatch it). Queued and running documents are never dispatched again. With --mark-error the documents (orphaned, blocked and failed-silently) are set to error with a message instead."
  static override examples = [
    '<%= config.bin %> documents requeue --dry-run',
    '<%= config.bin %> documents requeue --dataset 3f2a9c1e-0b7d-4c55-9a1e-2f6b8d0c4e11 --yes',
    '<%= config.bin %> documents requeue --document 0b7d3f2a-9c1e-4c55-9a1e-2f6b8d0c4e11 --mark-error --yes',
  ]
  static override flags = {
    dataset: uuidFlag({ multiple: true, summary: 'Only documents of this dataset; repeatable.' }),
    document: uuidFlag({ multiple: true, summary: 'Only this document; repeatable.' }),
    'mark-error': Flags.boolean({
      summary: 'Set the documents to error (with a message) instead of dispatching them.',
    }),
    timeout: secondsFlag({ default: 1, min: 0.001, max: 600, summary: 'Seconds to wait for live workers to answer.' }),
    ...writeFlags,
    ...yesFlag,
  }

  async run(): Promise<RequeueResult> {
    const { flags } = await this.parse(DocumentsRequeue)
    this.auditArgs = { dataset: flags.dataset ?? [], document: flags.document ?? [], markError: flags['mark-error'] }
    const deps = await documentsDeps(this.runtime())
    const markError = flags['mark-error']
    const plan = await planRequeue(deps, {
      datasets: flags.dataset,
      documents: flags.document,
      markError,
      workerTimeoutMs: flags.timeout * 1000,
      signal: this.abort.signal,
    })
    const dry = flags['dry-run'] || plan.actions.length === 0
    if (!dry) {
      const n = plan.actions.reduce((a, x) => a + x.documentIds.length, 0)
      await confirmOrStop(
        markError
          ? `Set ${n} document(s) to error?`
          : `Re-dispatch ${n} document(s) (${plan.actions.length} task message(s))?`,
        { yes: flags.yes, declined: 'Not confirmed: nothing was changed.' },
      )
      this.auditCounts = { actions: plan.actions.length, documents: n }
      await runRequeue(deps, plan)
    }
    const r = summarise(flags['dry-run'], markError, deps.version, plan)
    for (const l of renderRequeue(r)) this.out.log(l)
    return r
  }
}
