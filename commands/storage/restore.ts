import { Args, DifyCommand } from '../../src/cli/command.js'
import { writeFlags } from '../../src/cli/flags.js'
import { restoreRun, type RestoreResult } from '../../src/storage/quarantine.js'
import { storageDeps } from '../../src/storage/deps.js'

export default class StorageRestore extends DifyCommand {
  static override writes = true
  static override summary = 'Put every object of a quarantine run back where it was.'
  static override description =
    'Reads dify_ops_quarantine/<RUN-ID>/manifest.json and moves each object back to its original path. An object whose original path exists again is left in quarantine (conflict). When every object is back, the manifest is removed. Running it again is safe.'
  static override examples = [
    '<%= config.bin %> storage restore 20261206T141500Z-a1b2c3 --dry-run',
    '<%= config.bin %> storage restore 20261206T141500Z-a1b2c3',
  ]
  static override args = {
    'run-id': Args.string({ required: true, description: 'the run id printed by storage quarantine' }),
  }
  static override flags = { ...writeFlags }

  async run(): Promise<RestoreResult> {
    const { args, flags } = await this.parse(StorageRestore)
    this.auditArgs = { runId: args['run-id'] }
    const { storage } = await storageDeps(this.runtime())
    const r = await restoreRun(storage, args['run-id'], { dryRun: flags['dry-run'] })
    if (!r.dryRun) this.auditCounts = { restored: r.restored.length, conflicts: r.conflicts.length }
    this.out.log(
      `${r.dryRun ? 'Dry run: would restore' : 'Restored'} ${r.restored.length} objects of run ${r.runId}.${r.dryRun ? ' Nothing was changed.' : ''}`,
    )
    for (const c of r.conflicts) this.out.warn(`kept in quarantine: ${c} exists again at its original path`)
    for (const l of r.lost) this.out.warn(`not found in quarantine nor at its place: ${l}`)
    if (r.alreadyInPlace.length) this.out.log(`${r.alreadyInPlace.length} objects were already back.`)
    return r
  }
}
