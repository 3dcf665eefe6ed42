import { DifyCommand } from '../../src/cli/command.js'
import { durationFlag, secondsFlag, uuidFlag } from '../../src/cli/flags.js'
import { documentsDeps } from '../../src/documents/deps.js'
import { renderStuck } from '../../src/documents/render.js'
import { findStuck, type StuckResult } from '../../src/documents/stuck.js'

export default class DocumentsStuck extends DifyCommand {
  static override summary = 'List documents stuck in Queuing/Indexing, with the work that should move each one on.'
  static override description =
    "Every document whose indexing_status is not completed or error, with its segments' states, and where its work is: a Celery message (dataset and pipeline queues, every priority), an unacked entry, a task a live worker holds, or an entry of Dify's tenant-isolated queue and its running flag. Each document is classified queued, running, blocked, orphaned, failed-silently or paused, with one verdict line per class and the next command. Exit 8 when a document is blocked or orphaned. Reads only."
  static override examples = [
    '<%= config.bin %> documents stuck',
    '<%= config.bin %> documents stuck --dataset 3f2a9c1e-0b7d-4c55-9a1e-2f6b8d0c4e11 --older-than 30m --json',
  ]
  static override flags = {
    dataset: uuidFlag({ multiple: true, summary: 'Only this dataset (knowledge base); repeatable.' }),
    tenant: uuidFlag({ multiple: true, summary: 'Only this tenant (workspace); repeatable.' }),
    'older-than': durationFlag({ summary: 'Only documents without progress for at least this long (30m, 2h, 1d).' }),
    timeout: secondsFlag({
      default: 1,
      min: 0,
      max: 600,
      summary: 'Seconds to wait for live workers to answer (0: do not ask them).',
    }),
  }

  #streamed = false

  /**
   * The result is written by run() already (streamed); oclif's colorizeJson would tokenise the whole text (over
   * 1 GB for 100 000 documents), and even plain JSON.stringify holds it twice (358 MB)
   */
  override logJson(json: unknown): void {
    if (!this.#streamed) this.out.jsonValue(json, { pretty: true })
  }

  async run(): Promise<StuckResult> {
    const { flags } = await this.parse(DocumentsStuck)
    const deps = await documentsDeps(this.runtime())
    const r = await findStuck(deps, {
      datasets: flags.dataset,
      tenants: flags.tenant,
      olderThanSeconds: flags['older-than'],
      workerTimeoutMs: flags.timeout * 1000,
      signal: this.abort.signal,
    })
    if (r.problems) this.setExitCode(8)
    if (this.jsonEnabled()) {
      await this.out.jsonStreamed(r as unknown as Record<string, unknown>, 'documents')
      this.#streamed = true
    } else for (const l of renderStuck(r)) this.out.log(l)
    return r
  }
}
