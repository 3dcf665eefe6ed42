import { existsSync } from 'node:fs'
import { Flags } from '@oclif/core'
import { DifyCommand } from '../../src/cli/command.js'
import { boundedIntFlag, writeFlags, yesFlag } from '../../src/cli/flags.js'
import { InterruptedError, UsageError } from '../../src/core/errors.js'
import { canPrompt, confirmOrStop } from '../../src/cli/prompt.js'
import { openStorage } from '../../src/runtime/storage.js'
import {
  assertDistinct,
  checkpointPath,
  migrateStorage,
  targetStorageConfig,
  type MigrateResult,
} from '../../src/storage/migrate.js'
import { renderMigrate } from '../../src/storage/render.js'
import { formatBytes } from '../../src/storage/usage.js'
import { storageDeps } from '../../src/storage/deps.js'

export default class StorageMigrate extends DifyCommand {
  static override writes = true
  /** Ctrl-C stops after the objects in flight; the checkpoint lets the rerun go on */
  static override gracefulInterrupt = true
  static override summary =
    'Copy every storage object (privkeys/ and .dify_secret_key included) to another storage, resumably and verified.'
  static override description =
    'Copies every object of the configured storage (or those under --prefix) to the storage described by the Dify variables of --to-env-file (STORAGE_TYPE, OPENDAL_*, S3_*, …): streamed, --concurrency at a time, checkpointed in .dify-ops/storage-migrate/ so a rerun skips what is done, verified by size (always) and sha256 (a sample; every object with --verify). A target holding different objects at the same keys is refused (exit 4) unless --overwrite; identical ones are skipped. The database holds storage keys, not URLs, so nothing in it changes: switch the env of Dify to the target afterwards. --delete-source deletes the source objects after every one is verified, with its own confirmation.'
  static override examples = [
    '<%= config.bin %> storage migrate --to-env-file s3.env --dry-run',
    '<%= config.bin %> storage migrate --to-env-file s3.env --verify --yes',
    '<%= config.bin %> storage migrate --to-env-file s3.env --prefix upload_files/ --prefix privkeys/',
  ]
  static override flags = {
    'to-env-file': Flags.string({
      required: true,
      summary: "An env file with the target storage's Dify variables (STORAGE_TYPE, OPENDAL_SCHEME, OPENDAL_*_…).",
    }),
    prefix: Flags.string({ multiple: true, summary: 'Only objects under this prefix (repeatable); default all.' }),
    verify: Flags.boolean({ summary: 'Compare the sha256 of every object (default: size of all, hash of a sample).' }),
    'delete-source': Flags.boolean({
      summary: 'After every object is copied and verified by hash, delete it from the source (confirmed separately).',
    }),
    overwrite: Flags.boolean({ summary: 'Replace target objects that differ from the source (confirmed).' }),
    concurrency: boundedIntFlag({ min: 1, max: 64, default: 8, summary: 'Objects copied at a time.' }),
    ...writeFlags,
    ...yesFlag,
  }

  async run(): Promise<MigrateResult> {
    const { flags } = await this.parse(StorageMigrate)
    const prefixes = flags.prefix ?? []
    this.auditArgs = {
      prefixes,
      verify: flags.verify,
      deleteSource: flags['delete-source'],
      overwrite: flags.overwrite,
    }
    // the confirmation of a delete comes after the whole copy: without a terminal to ask, say so before it starts
    if (flags['delete-source'] && !flags['dry-run'] && !flags.yes && !canPrompt())
      throw new UsageError('--delete-source asks before it deletes and there is no terminal to ask.', {
        hint: 'Pass --yes to confirm, or run the copy first and --delete-source on a terminal.',
      })
    const rt = this.runtime()
    const { storage: source } = await storageDeps(rt)
    const db = await rt.db()
    const cwd = process.cwd()
    const targetCfg = targetStorageConfig(flags['to-env-file'], cwd)
    assertDistinct(rt.config.storage, targetCfg)
    // a dry run creates nothing: an fs root that does not exist yet is an empty target, not opened
    const fresh = flags['dry-run'] && targetCfg.scheme === 'fs' && !existsSync(targetCfg.options.root!)
    const target = fresh ? null : await openStorage(targetCfg)
    const progress = this.out.progress('Listing both storages…')
    const yes = { yes: flags.yes }
    let r: MigrateResult
    try {
      r = await migrateStorage(
        { source, target, targetLocation: targetCfg.location, db },
        {
          prefixes,
          dryRun: flags['dry-run'],
          verify: flags.verify,
          deleteSource: flags['delete-source'],
          overwrite: flags.overwrite,
          concurrency: flags.concurrency,
          checkpoint: checkpointPath(cwd, source.location, targetCfg.location),
          signal: this.abort.signal,
          onProgress: (n, total) => progress.update(`Copied ${n} of ${total} objects…`),
          confirmOverwrite: async (p) => {
            progress.stop()
            await confirmOrStop(`Replace ${p.objects} objects of ${targetCfg.location} that differ from the source?`, {
              ...yes,
              declined: 'Not confirmed: nothing was copied.',
            })
          },
          confirmDelete: async (p) => {
            progress.stop()
            await confirmOrStop(
              `Every object is at ${targetCfg.location} and verified. Delete ${p.objects} objects (${formatBytes(p.bytes)}) from the source ${source.location}?`,
              { ...yes, declined: 'Not confirmed: the source is kept (the copy is complete).' },
            )
          },
        },
      )
    } finally {
      progress.stop()
    }
    if (!r.dryRun) this.auditCounts = { copied: r.copied, skipped: r.skipped, sourceDeleted: r.sourceDeleted }
    if (this.abort.signal.aborted)
      throw new InterruptedError(`Interrupted: ${r.copied} objects were copied and checkpointed.`, {
        hint: 'Run the same migrate again: it goes on from the checkpoint.',
      })
    for (const l of renderMigrate(r)) this.out.log(l)
    for (const a of r.database?.absolute ?? [])
      this.out.warn(`${a.table} ${a.id} holds an absolute location, not a storage key: ${a.key}`)
    return r
  }
}
