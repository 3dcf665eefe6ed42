import { Args, DifyCommand } from '../../src/cli/command.js'
import { writeFlags } from '../../src/cli/flags.js'
import { unlockEmail, type UnlockReport } from '../../src/accounts/unlock.js'
import { renderUnlock } from '../../src/accounts/render.js'
import { unlockDeps } from '../../src/accounts/deps.js'

export default class AccountUnlock extends DifyCommand {
  static override summary =
    'Clear every lock-out counter and rate limiter of an email, in every letter case; the password is not touched.'
  static override examples = [
    '<%= config.bin %> account unlock ops@example.com',
    '<%= config.bin %> account unlock ops@example.com --dry-run --json',
  ]
  static override writes = true
  static override args = { email: Args.string({ description: 'The email (any letter case).', required: true }) }
  static override flags = { ...writeFlags }

  async run(): Promise<UnlockReport> {
    const { args, flags } = await this.parse(AccountUnlock)
    this.auditArgs = { email: args.email }
    const report = await unlockEmail(unlockDeps(this.runtime(), { warn: (t) => this.out.warn(t) }), {
      email: args.email,
      dryRun: flags['dry-run'],
    })
    if (!report.dryRun) this.auditCounts = { keysDeleted: report.cleared.length }
    for (const l of renderUnlock(report)) this.out.log(l)
    return report
  }
}
