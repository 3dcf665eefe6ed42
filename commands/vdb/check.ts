import { DifyCommand, Flags } from '../../src/cli/command.js'
import { requireSupportedStore } from '../../src/vector/index.js'
import { uuidFlag } from '../../src/cli/flags.js'
import { ExitCode } from '../../src/core/errors.js'
import { checkAll, type CheckResult, type Scope } from '../../src/vdb/check.js'
import { vdbDeps } from '../../src/vdb/deps.js'
import { renderCheck } from '../../src/vdb/render.js'

export default class VdbCheck extends DifyCommand {
  static override summary =
    "Compare every knowledge base's (and annotation app's) vectors with what the database says should be indexed."
  static override description =
    "Streams the live set of each dataset/app (completed, enabled, non-archived documents; child chunks for parent-child; QA; images; 1.12 summaries; annotations) and joins it on doc_id with its vector store: missing, orphaned and duplicated vectors, plus a sampled comparison of stored vectors with Dify's embedding cache. Exit 0 when consistent, 8 when any drift is found, 7 when some store could not be checked."
  static override examples = [
    '<%= config.bin %> vdb check',
    '<%= config.bin %> vdb check --dataset 3f2a… --sample 100 --json',
    '<%= config.bin %> vdb check --tenant 9c1e… --scope knowledge',
  ]
  static override flags = {
    dataset: uuidFlag({ summary: 'Only this dataset (or annotation app) id; repeatable.', multiple: true }),
    tenant: uuidFlag({ summary: 'Only datasets/apps of this tenant; repeatable.', multiple: true }),
    scope: Flags.string({
      summary: 'knowledge (datasets), annotation (annotation-reply apps) or all.',
      options: ['knowledge', 'annotation', 'all'],
      default: 'all',
    }),
    sample: Flags.integer({
      summary: 'Live items per dataset whose stored vector is compared with the embedding cache (0: none).',
      default: 20,
      min: 0,
    }),
  }

  async run(): Promise<CheckResult> {
    const { flags } = await this.parse(VdbCheck)
    const rt = this.runtime()
    // datasets without index_struct live in VECTOR_STORE: an unknown one is a configuration error, not drift
    requireSupportedStore(rt.config.vectorStore, 'VECTOR_STORE')
    const deps = await vdbDeps(rt, { writes: false, warn: (s) => this.out.warn(s) })
    const progress = this.out.progress('Checking vector stores…')
    let n = 0
    try {
      const result = await checkAll(deps, {
        scope: flags.scope as Scope,
        datasetIds: flags.dataset,
        tenantIds: flags.tenant,
        sample: flags.sample,
        onTarget: (t) =>
          progress.update(`Checking ${++n}: ${t.scope === 'knowledge' ? 'dataset' : 'app'} ${t.id} (${t.storeType})`),
      })
      progress.stop()
      for (const l of renderCheck(result)) this.out.log(l)
      const s = result.summary
      if (s.drift > 0) this.setExitCode(ExitCode.problems)
      else if (s.unreachable + s.unsupported > 0) this.setExitCode(ExitCode.partial)
      return result
    } finally {
      progress.stop()
      await deps.stores.close()
    }
  }
}
