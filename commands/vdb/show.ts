import { DifyCommand, Flags } from '../../src/cli/command.js'
import { requireSupportedStore } from '../../src/vector/index.js'
import { uuidArg } from '../../src/cli/flags.js'
import { ExitCode, NotFoundError } from '../../src/core/errors.js'
import { findTarget } from '../../src/dify/live-set.js'
import { joinTarget, type TargetCheck } from '../../src/vdb/check.js'
import { vdbDeps } from '../../src/vdb/deps.js'
import { renderShow } from '../../src/vdb/render.js'

export default class VdbShow extends DifyCommand {
  static override summary =
    "Where Dify looks for one dataset's (or annotation app's) vectors, and how they compare with the database."
  static override examples = ['<%= config.bin %> vdb show 3f2a9c1e-…', '<%= config.bin %> vdb show APP_ID --json']
  static override args = {
    id: uuidArg({ description: 'A dataset id, or an app id with annotation reply enabled.', required: true }),
  }
  static override flags = {
    sample: Flags.integer({
      summary: 'Live items whose stored vector is compared with the embedding cache (0: none).',
      default: 20,
      min: 0,
    }),
  }

  async run(): Promise<TargetCheck> {
    const { args, flags } = await this.parse(VdbShow)
    const rt = this.runtime()
    // datasets without index_struct live in VECTOR_STORE: an unknown one is a configuration error, not drift
    requireSupportedStore(rt.config.vectorStore, 'VECTOR_STORE')
    const deps = await vdbDeps(rt, { writes: false, warn: (s) => this.out.warn(s) })
    try {
      const target = await findTarget(deps, args.id)
      if (!target) {
        throw new NotFoundError(
          `No high-quality dataset and no app with annotation reply enabled has the id ${args.id}.`,
          {
            hint: 'Economy and external datasets have no vectors; list datasets with vdb check.',
          },
        )
      }
      const { report } = await joinTarget(deps, target, { sample: flags.sample })
      for (const l of renderShow(report)) this.out.log(l)
      // as vdb check: the store could not be read, so the counts are the database's side only
      if (report.status === 'unreachable' || report.status === 'unsupported') this.setExitCode(ExitCode.partial)
      return report
    } finally {
      await deps.stores.close()
    }
  }
}
