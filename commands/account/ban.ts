import { Args, DifyCommand, Flags, type FlagInput } from '../../src/cli/command.js'
import { PartialError } from '../../src/core/errors.js'
import { writeFlags } from '../../src/cli/flags.js'
import { setBanned, type BanReport } from '../../src/accounts/ban.js'
import { renderBan } from '../../src/accounts/render.js'
import { accountDeps } from '../../src/accounts/deps.js'

/** `account ban`; `account unban` (unban.ts) is this command with `action = 'unban'` and no --keep-sessions. */
export default class AccountBan extends DifyCommand {
  static action: 'ban' | 'unban' = 'ban'
  static override summary =
    'Ban an account (status banned): Dify refuses its login and its live access tokens; its sessions are revoked.'
  static override examples = [
    '<%= config.bin %> account ban ops@example.com',
    '<%= config.bin %> account ban --account-id 5b3c… --dry-run',
  ]
  static override writes = true
  static override args = {
    email: Args.string({ description: 'Email of the account (matched as Dify login matches it).', required: false }),
  }
  static override flags: FlagInput = {
    'account-id': Flags.string({ summary: 'Id of the account (needed when several accounts share an email).' }),
    'keep-sessions': Flags.boolean({ summary: 'Do not revoke the refresh-token sessions.' }),
    ...writeFlags,
  }

  async run(): Promise<BanReport> {
    const ctor = this.constructor as typeof AccountBan
    const { args, flags } = (await this.parse(ctor)) as unknown as {
      args: { email?: string }
      flags: {
        'account-id'?: string
        'keep-sessions'?: boolean
        'dry-run': boolean
        'force-version': boolean
      }
    }
    this.auditArgs = { email: args.email, accountId: flags['account-id'] }
    const rt = this.runtime()
    const report = await setBanned(accountDeps(rt, { warn: (t) => this.out.warn(t) }), {
      email: args.email,
      accountId: flags['account-id'],
      action: ctor.action,
      dryRun: flags['dry-run'],
      forceVersion: flags['force-version'],
      keepSessions: flags['keep-sessions'],
    })
    if (!report.dryRun && (report.changed || report.sessions.refreshTokens))
      this.auditCounts = { accounts: report.changed ? 1 : 0, refreshTokensRevoked: report.sessions.refreshTokens }
    for (const l of renderBan(report)) this.out.log(l)
    if (!report.redis.ok) {
      throw new PartialError(
        `The status ${report.dryRun ? `would be ${report.status} (dry run, nothing written)` : `is ${report.status}`}, but Redis was unavailable (${report.redis.error}): ${report.redis.notDone.join('; ')} not done.`,
        {
          hint: 'When Redis is back, run the command again to revoke the sessions.',
          details: { report },
        },
      )
    }
    return report
  }
}
