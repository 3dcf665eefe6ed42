import { DifyCommand, Flags } from '../../src/cli/command.js'
import { listAccounts, type ListReport } from '../../src/accounts/list.js'
import { renderList } from '../../src/accounts/render.js'
import { boundedIntFlag } from '../../src/cli/flags.js'
import { accountDeps } from '../../src/accounts/deps.js'

export default class AccountList extends DifyCommand {
  static override summary = 'List accounts, page by page, with a case-insensitive search on email and name.'
  static override examples = [
    '<%= config.bin %> account list --search ops',
    '<%= config.bin %> account list --tenant 0b7… --status banned --json',
  ]
  static override flags = {
    search: Flags.string({ summary: 'Only accounts whose email or name contains TEXT (any letter case).' }),
    tenant: Flags.string({ summary: 'Only members of this workspace (tenant id); shows their role.' }),
    status: Flags.string({
      summary: 'Only accounts with this status.',
      options: ['pending', 'uninitialized', 'active', 'banned', 'closed'],
    }),
    limit: boundedIntFlag({ summary: 'Accounts per page (1 to 10000).', default: 50, min: 1, max: 10_000 }),
    page: boundedIntFlag({ summary: 'Page number, from 1.', default: 1, min: 1, max: 1_000_000_000 }),
  }

  async run(): Promise<ListReport> {
    const { flags } = await this.parse(AccountList)
    const rt = this.runtime()
    const report = await listAccounts(accountDeps(rt, { warn: (t) => this.out.warn(t) }), {
      search: flags.search,
      tenantId: flags.tenant,
      status: flags.status,
      limit: flags.limit,
      offset: (flags.page - 1) * flags.limit,
    })
    this.out.lines(renderList(report, { tenant: flags.tenant, page: flags.page }))
    return report
  }
}
