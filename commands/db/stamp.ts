import { Args, DifyCommand } from '../../src/cli/command.js'
import { writeFlags, yesFlag } from '../../src/cli/flags.js'
import { confirmOrStop } from '../../src/cli/prompt.js'
import { migrationDeps } from '../../src/migrations/deps.js'
import { renderStamp, stampQuestion } from '../../src/migrations/render.js'
import { stampDb, type StampResult } from '../../src/migrations/status.js'

export default class DbStamp extends DifyCommand {
  static override writes = true
  static override summary = 'Record REV in alembic_version without changing the schema (recovery after a manual fix).'
  static override description =
    "Like Alembic's stamp: creates alembic_version if missing and replaces its rows with REV. The schema itself is not touched, so stamping a revision the schema does not match makes later upgrades fail."
  static override examples = [
    '<%= config.bin %> db stamp 03ea244985ce --yes',
    '<%= config.bin %> db stamp d57accd375ae --dry-run',
  ]
  static override args = {
    rev: Args.string({ required: true, description: 'revision id (or unique prefix, or "head")' }),
  }
  static override flags = {
    ...writeFlags,
    ...yesFlag,
  }

  async run(): Promise<StampResult> {
    const { args, flags } = await this.parse(DbStamp)
    this.auditArgs = { rev: args.rev }
    const r = await stampDb(migrationDeps(this.runtime()), args.rev, {
      dryRun: flags['dry-run'],
      confirm: async (from, to) => {
        await confirmOrStop(stampQuestion(from, to), { yes: flags.yes })
        return true
      },
    })
    if (!r.dryRun && r.statements.length) this.auditCounts = { rows: 1 }
    this.out.lines(renderStamp(r))
    return r
  }
}
