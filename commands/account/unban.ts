import { Args, DifyCommand, Flags } from '../../src/cli/command.js'
import { PartialError } from '../../src/cli/errors.js'
import { setBanned, type BanReport } from '../../src/accounts/ban.js'
import { renderBan } from '../../src/accounts/render.js'

export default class AccountUnban extends DifyCommand {
  static override summary = "Unban a banned account (status back to active)."
  static override examples = ['<%= config.bin %> account unban ops@example.com', '<%= config.bin %> account unban --account-id 5b3c… --dry-run']
  static override writes = true
  static override args = { email: Args.string({ description: 'Email of the account (matched as Dify login matches it).', required: false }) }
  static override flags = {
    'account-id': Flags.string({ summary: 'Id of the account (needed when several accounts share an email).' }),
    'dry-run': Flags.boolean({ summary: 'Show what would change; write nothing.' }),
    'force-version': Flags.boolean({ summary: 'Write even when the database is outside the supported Dify releases.' }),
  }

  async run(): Promise<BanReport> {
    const { args, flags } = await this.parse(AccountUnban)
    this.dryRun = flags['dry-run']
    this.auditArgs = { email: args.email, accountId: flags['account-id'] }
    const rt = this.runtime()
    const report = await setBanned(
      { db: () => rt.db(), redis: () => rt.redis(), warn: (t) => this.out.warn(t) },
      { email: args.email, accountId: flags['account-id'], action: 'unban', dryRun: flags['dry-run'], forceVersion: flags['force-version'] },
    )
    this.auditCounts = { accounts: report.changed ? 1 : 0, refreshTokensRevoked: report.sessions.refreshTokens }
    for (const l of renderBan(report)) this.out.log(l)
    if (!report.redis.ok) {
      throw new PartialError(`The status is ${report.status}, but Redis was unavailable (${report.redis.error}): ${report.redis.notDone.join('; ')} not done.`, {
        hint: 'When Redis is back, run the command again to revoke the sessions.',
        details: { report },
      })
    }
    return report
  }
}
