import { DifyCommand, Flags } from '../../src/cli/command.js'
import { requireSupportedStore } from '../../src/vector/index.js'
import { ExitCode, UsageError } from '../../src/core/errors.js'
import { uuidFlag, writeFlags, yesFlag } from '../../src/cli/flags.js'
import { canPrompt, confirmOrStop } from '../../src/cli/prompt.js'
import type { Scope } from '../../src/vdb/check.js'
import { repairAll, type RepairResult } from '../../src/vdb/repair.js'
import { vdbDeps } from '../../src/vdb/deps.js'
import { renderRepair } from '../../src/vdb/render.js'

export default class VdbRepair extends DifyCommand {
  static override summary =
    'Delete orphan vectors and fill missing ones from the embedding cache, so each store matches the database.'
  static override description =
    "Orphans (doc_ids with no live item) are deleted through the store's own delete path; missing vectors are written from Dify's embedding cache (embeddings table) with the metadata Dify builds, never invented: what the cache does not have is reported. A dataset whose store cannot be reached is not touched. Confirms first unless --yes."
  static override examples = [
    '<%= config.bin %> vdb repair --delete-orphans --fill-missing --dry-run',
    '<%= config.bin %> vdb repair --dataset 3f2a… --delete-orphans --yes --json',
  ]
  static override writes = true
  static override flags = {
    dataset: uuidFlag({ summary: 'Only this dataset (or annotation app) id; repeatable.', multiple: true }),
    tenant: uuidFlag({ summary: 'Only datasets/apps of this tenant; repeatable.', multiple: true }),
    scope: Flags.string({
      summary: 'knowledge, annotation or all.',
      options: ['knowledge', 'annotation', 'all'],
      default: 'all',
    }),
    'delete-orphans': Flags.boolean({ summary: 'Delete vectors whose doc_id has no live item.' }),
    'fill-missing': Flags.boolean({ summary: 'Write missing vectors from the embedding cache.' }),
    ...writeFlags,
    ...yesFlag,
  }

  async run(): Promise<RepairResult> {
    const { flags } = await this.parse(VdbRepair)
    if (!flags['delete-orphans'] && !flags['fill-missing']) {
      throw new UsageError('Nothing to repair: choose --delete-orphans and/or --fill-missing.', {
        hint: 'Run dify vdb check first to see the drift.',
      })
    }
    if (!this.dryRun && !flags.yes && !canPrompt()) {
      throw new UsageError(
        'vdb repair deletes and writes vectors; confirmation is needed and there is no terminal to ask.',
        { hint: 'Pass --yes to confirm, or --dry-run to see the plan.' },
      )
    }
    this.auditArgs = {
      dataset: flags.dataset,
      tenant: flags.tenant,
      scope: flags.scope,
      deleteOrphans: flags['delete-orphans'],
      fillMissing: flags['fill-missing'],
    }
    const rt = this.runtime()
    // datasets without index_struct live in VECTOR_STORE: an unknown one is a configuration error, not drift
    requireSupportedStore(rt.config.vectorStore, 'VECTOR_STORE')
    const deps = await vdbDeps(rt, {
      writes: !this.dryRun,
      forceVersion: flags['force-version'],
      redis: this.dryRun ? undefined : 'if-reachable',
      warn: (s) => this.out.warn(s),
    })
    const base = {
      scope: flags.scope as Scope,
      datasetIds: flags.dataset,
      tenantIds: flags.tenant,
      deleteOrphans: flags['delete-orphans'],
      fillMissing: flags['fill-missing'],
    }
    try {
      if (!this.dryRun && !flags.yes) {
        // show the plan, then ask
        const plan = await repairAll(deps, { ...base, dryRun: true })
        for (const l of renderRepair(plan)) this.out.log(l)
        const s = plan.summary
        if (s.orphansFound === 0 && s.fillable === 0) {
          this.out.log('Nothing to write.')
          return plan
        }
        await confirmOrStop(
          `Delete ${flags['delete-orphans'] ? s.orphansFound : 0} orphan vectors and write ${flags['fill-missing'] ? s.fillable : 0} missing vectors?`,
          { yes: flags.yes, declined: 'Repair cancelled; nothing was written.' },
        )
      }
      const result = await repairAll(deps, { ...base, dryRun: this.dryRun })
      for (const l of renderRepair(result)) this.out.log(l)
      const s = result.summary
      if (!this.dryRun)
        this.auditCounts = {
          orphansDeleted: s.orphansDeleted,
          filled: s.filled,
          unfillable: s.unfillable,
          skipped: s.skipped,
          failed: s.failed,
        }
      if (!this.dryRun && (s.skipped > 0 || s.unfillable > 0 || s.failed > 0)) this.setExitCode(ExitCode.partial)
      return result
    } finally {
      this.auditTarget = { vectorStores: await deps.stores.opened() }
      await deps.stores.close()
    }
  }
}
