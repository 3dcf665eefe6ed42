import type { Interfaces } from '@oclif/core'
import { DifyCommand, Flags } from '../src/cli/command.js'
import { uuidFlag, writeFlags, yesFlag } from '../src/cli/flags.js'
import { canPrompt, confirm } from '../src/cli/prompt.js'
import { ExitCode, UsageError } from '../src/core/errors.js'
import { vdbMigrateDeps } from '../src/vdb-migrate/deps.js'
import { checkFlags } from '../src/vdb-migrate/prepare.js'
import { stderrProgress } from '../src/vdb-migrate/progress.js'
import { renderResult, renderStart } from '../src/vdb-migrate/render.js'
import { migrateSelected, type RunOptions, type VdbMigrateJson } from '../src/vdb-migrate/run.js'
import { parseShard } from '../src/vdb-migrate/select.js'
import { storeLabel } from '../src/vector/store.js'

export default class VdbMigrate extends DifyCommand {
  static override summary =
    'Move every vector to VECTOR_STORE without re-embedding: resumable, verified, then switched.'
  static override description =
    "Copies each high-quality dataset's live vectors (and each annotation-enabled app's) from the store its index_struct names (or --from) to VECTOR_STORE, taking vectors from the source store, else from Dify's embeddings cache, else reporting them missing. Verifies the target, then switches datasets.index_struct with a compare-and-swap. Checkpointed in dify_ops_vdb_migrate_checkpoints (or in Redis with --checkpoint redis); a rerun continues. Exit 7 when some dataset or app failed."
  static override examples = [
    '<%= config.bin %> vdb-migrate --dry-run',
    '<%= config.bin %> vdb-migrate --scope knowledge --dataset 3f2a… --concurrency 4',
    '<%= config.bin %> vdb-migrate --from pgvector --source-env-file old.env --json',
  ]
  static override aliases = ['vdb:migrate']
  static override writes = true
  static override gracefulInterrupt = true
  static override flags = {
    scope: Flags.string({
      options: ['knowledge', 'annotation', 'all'],
      default: 'all',
      summary: "What to migrate, as Dify's --scope.",
    }),
    dataset: uuidFlag({ multiple: true, summary: 'Only this dataset (repeatable).' }),
    tenant: uuidFlag({ multiple: true, summary: 'Only datasets/apps of this workspace (repeatable).' }),
    app: uuidFlag({ multiple: true, summary: "Only this app's annotations (repeatable)." }),
    shard: Flags.string({ summary: 'i/n: only the datasets and apps of shard i of n (by id), for parallel jobs.' }),
    from: Flags.string({
      summary: "Source store type for every dataset (and annotations); needs the store's settings.",
    }),
    'source-env-file': Flags.string({ summary: "dotenv file with the source store's variables (with --from)." }),
    'batch-size': Flags.integer({ default: 500, min: 1, max: 10000, summary: 'Vectors per read/write batch.' }),
    concurrency: Flags.integer({ default: 4, min: 1, max: 64, summary: 'Write batches in flight.' }),
    checkpoint: Flags.string({
      options: ['db', 'redis'],
      default: 'db',
      summary:
        'Where checkpoints live: the dify_ops_vdb_migrate_checkpoints table, or the app-cache Redis (keys dify_ops:vdb_migrate:checkpoint:*, no TTL).',
    }),
    restart: Flags.boolean({ summary: 'Ignore checkpoints and start every selected unit over.' }),
    ...writeFlags,
    force: Flags.boolean({ summary: 'Migrate even while documents are being indexed or dataset tasks are queued.' }),
    'allow-missing': Flags.boolean({ summary: 'Switch datasets even when some live items have no vector anywhere.' }),
    'delete-source': Flags.boolean({ summary: 'After a verified switch, delete the source collection (asks first).' }),
    ...yesFlag,
    'verify-sample': Flags.integer({
      default: 20,
      min: 1,
      max: 10000,
      summary: 'Vectors compared with their source per unit.',
    }),
  }

  async run(): Promise<VdbMigrateJson> {
    const { flags: f } = await this.parse(VdbMigrate)
    const shard = parseShard(f.shard)
    // flag problems are exit 2 before anything connects
    checkFlags({ from: f.from, 'source-env-file': f['source-env-file'], shard: f.shard }, shard)
    if (f['delete-source'] && !f.yes && !f['dry-run'] && !canPrompt()) {
      // the question comes only after a unit is switched: refuse now rather than fail migrated units then
      throw new UsageError('--delete-source asks before deleting each source; without a terminal add --yes.', {
        hint: 'Or run without --delete-source and delete the sources later.',
      })
    }
    this.auditArgs = {
      scope: f.scope,
      dataset: f.dataset,
      tenant: f.tenant,
      app: f.app,
      shard: f.shard,
      from: f.from,
      dryRun: f['dry-run'],
      restart: f.restart,
      checkpoint: f.checkpoint,
      deleteSource: f['delete-source'],
    }
    const deps = await vdbMigrateDeps(this.runtime(), { dryRun: f['dry-run'], sourceEnvFile: f['source-env-file'] })
    let res: VdbMigrateJson
    try {
      res = await migrateSelected(deps, runOptions(f, shard), {
        signal: this.abort.signal,
        progress: stderrProgress((s) => this.out.stderr(s), this.out.interactive),
        confirmDeleteSource: (u, where) =>
          confirm(`Delete the source of ${u.kind} ${u.id} (${where})?`, { yes: f.yes }),
        onStart: (i) => {
          this.out.lines(renderStart(i, f['dry-run']))
          for (const w of i.warnings) this.out.warn(w)
        },
      })
    } finally {
      await deps.close()
    }
    this.out.lines(renderResult(res))
    this.auditTarget = {
      vectorStores: [`${storeLabel(res.target)} (target)`, ...res.sources.map((s) => `${storeLabel(s)} (source)`)],
    }
    const t = res.totals
    if (!res.dryRun)
      this.auditCounts = {
        migrated: t.migrated,
        skipped: t.skipped,
        failed: t.failed,
        incomplete: t.incomplete,
        written: t.written,
      }
    if (res.interrupted) this.setExitCode(ExitCode.interrupted)
    else if (t.failed || t.incomplete) this.setExitCode(ExitCode.partial)
    return res
  }
}

/** The domain's options from the flags. */
function runOptions(f: VdbMigrateFlags, shard: RunOptions['shard']): RunOptions {
  return {
    scope: f.scope as 'all',
    datasets: f.dataset ?? [],
    tenants: f.tenant ?? [],
    apps: f.app ?? [],
    shard,
    from: f.from,
    batchSize: f['batch-size'],
    concurrency: f.concurrency,
    restart: f.restart,
    dryRun: f['dry-run'],
    force: f.force,
    allowMissing: f['allow-missing'],
    verifySample: f['verify-sample'],
    deleteSource: f['delete-source'],
    checkpoint: f.checkpoint as 'db' | 'redis',
  }
}

type VdbMigrateFlags = Interfaces.InferredFlags<typeof VdbMigrate.flags>
