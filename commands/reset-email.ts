import { DifyCommand, Flags } from '../src/cli/command.js'
import { PartialError } from '../src/core/errors.js'
import { writeFlags } from '../src/cli/flags.js'
import { resetEmail, type ResetEmailReport } from '../src/accounts/reset-email.js'
import { renderResetEmail } from '../src/accounts/render.js'
import { accountDeps } from '../src/accounts/deps.js'

export default class ResetEmail extends DifyCommand {
  static override summary = "Change an account's email, refusing an address another account already uses."
  static override description =
    'Validates the new address as Dify does and stores it in the form the connected release uses (lower-cased from Dify 1.11.3). The login lock-out counter moves with the address.'
  static override examples = [
    '<%= config.bin %> reset-email --email old@example.com --new-email new@example.com --email-confirm new@example.com',
  ]
  static override writes = true
  static override flags = {
    email: Flags.string({ summary: 'Current email of the account (matched as Dify login matches it).' }),
    'account-id': Flags.string({ summary: 'Id of the account (needed when several accounts share an email).' }),
    'new-email': Flags.string({ summary: 'The new email.', required: true }),
    'email-confirm': Flags.string({ summary: "Dify's confirmation flag: must equal --new-email when given." }),
    ...writeFlags,
  }

  async run(): Promise<ResetEmailReport> {
    const { flags } = await this.parse(ResetEmail)
    this.auditArgs = { email: flags.email, accountId: flags['account-id'], newEmail: flags['new-email'] }
    const rt = this.runtime()
    const report = await resetEmail(accountDeps(rt, { warn: (t) => this.out.warn(t) }), {
      email: flags.email,
      accountId: flags['account-id'],
      newEmail: flags['new-email'],
      emailConfirm: flags['email-confirm'],
      dryRun: flags['dry-run'],
      forceVersion: flags['force-version'],
    })
    if (report.changed && !report.dryRun) this.auditCounts = { accounts: 1 }
    for (const l of renderResetEmail(report)) this.out.log(l)
    if (!report.redis.ok) {
      throw new PartialError(
        `The email was ${report.dryRun ? 'not changed (dry run)' : 'changed'}, but Redis was unavailable (${report.redis.error}): ${report.redis.notDone.join('; ')} not done.`,
        {
          hint: 'When Redis is back, check the lock-out with "dify account show NEW_EMAIL".',
          details: { report },
        },
      )
    }
    return report
  }
}
