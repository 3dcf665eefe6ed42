import { Args, DifyCommand } from '../../src/cli/command.js'
import { showAccount, type ShowReport } from '../../src/accounts/show.js'
import { renderShow } from '../../src/accounts/render.js'
import { accountDeps } from '../../src/accounts/deps.js'

export default class AccountShow extends DifyCommand {
  static override summary =
    'Show an account: status, workspaces and roles, last login, password set, lock-outs, live sessions.'
  static override examples = [
    '<%= config.bin %> account show ops@example.com',
    '<%= config.bin %> account show 5b3c…-… --json',
  ]
  static override args = {
    account: Args.string({ description: 'Email (matched as Dify login matches it) or account id.', required: true }),
  }

  async run(): Promise<ShowReport> {
    const { args } = await this.parse(AccountShow)
    const rt = this.runtime()
    const report = await showAccount(accountDeps(rt, { warn: (t) => this.out.warn(t) }), { idOrEmail: args.account })
    for (const l of renderShow(report)) this.out.log(l)
    return report
  }
}
