import { DifyCommand } from '../../src/cli/command.js'
import { durationFlag } from '../../src/cli/flags.js'
import { ExitCode } from '../../src/core/errors.js'
import { storageRefDeps } from '../../src/storage/deps.js'
import {
  findOrphans,
  type DanglingReference,
  type MissingObject,
  type OrphanObject,
  type OrphansSummary,
} from '../../src/storage/orphans.js'
import { renderFinding, renderOrphansSummary } from '../../src/storage/render.js'

export default class StorageOrphans extends DifyCommand {
  static override summary =
    'Storage objects nothing references, file rows whose object is missing, and references to missing file rows (read-only).'
  static override description =
    'Reads every upload_files and tool_files row and the id tokens of every reference site (docs/storage.md), then streams one listing of the storage. An object of a user-file area (upload_files/, image_files/, tools/, datasources/) that no row owns and no reference site names, older than --min-age, is an orphan; private keys, .dify_secret_key, indexes, caches, exports and unknown prefixes never are. A row naming a file id (message_files.upload_file_id, documents.data_source_info upload_file_id and the other id sites) with no file row of that id is a dangling reference, listed and never changed. Exit 8 when any orphan, missing object or dangling reference is found. --json prints one JSON object per line (NDJSON): each finding, then a summary line.'
  static override examples = [
    '<%= config.bin %> storage orphans',
    '<%= config.bin %> storage orphans --min-age 7d',
    '<%= config.bin %> storage orphans --json > orphans.ndjson',
  ]
  static override flags = {
    'min-age': durationFlag({
      default: 86_400,
      summary: 'Objects modified more recently than this are never orphans (e.g. 24h, 7d).',
    }),
  }

  #streamed = false

  async run(): Promise<OrphansSummary> {
    const { flags } = await this.parse(StorageOrphans)
    const deps = await storageRefDeps(this.runtime())
    const { storage } = deps
    const progress = this.out.progress('Reading file rows…')
    const emit = (f: OrphanObject | MissingObject | DanglingReference) => {
      if (this.out.json) this.out.jsonValue(f)
      else {
        progress.stop()
        this.out.log(renderFinding(f))
      }
    }
    try {
      const { summary } = await findOrphans(deps, {
        minAgeSeconds: flags['min-age'],
        collect: false,
        onFinding: emit,
        signal: this.abort.signal,
        onProgress: (phase, n) =>
          progress.update(phase === 'listing' ? `Listing ${storage.location}: ${n} objects` : `Reading ${phase}…`),
      })
      progress.stop()
      if (this.out.json) {
        this.out.jsonValue(summary)
        this.#streamed = true
      } else {
        if (summary.orphans + summary.missing + summary.dangling) this.out.log()
        for (const l of renderOrphansSummary(summary)) this.out.log(l)
      }
      if (summary.orphans + summary.missing + summary.dangling > 0) this.setExitCode(ExitCode.problems)
      return summary
    } finally {
      progress.stop()
    }
  }

  /** --json is NDJSON here: the lines are already written */
  override logJson(json: unknown): void {
    if (!this.#streamed) super.logJson(json)
  }
}
