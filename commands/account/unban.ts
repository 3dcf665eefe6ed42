import AccountBan from './ban.js'

/** `account ban` with the other action: status back to active (sessions are left alone). */
export default class AccountUnban extends AccountBan {
  static override action = 'unban' as const
  static override summary = 'Unban a banned account (status back to active).'
  static override examples = [
    '<%= config.bin %> account unban ops@example.com',
    '<%= config.bin %> account unban --account-id 5b3c… --dry-run',
  ]
  // oclif's parse() spreads the class's own properties, so inherited statics must be restated
  static override args = AccountBan.args
  static override writes = AccountBan.writes
  static override flags = (({ 'keep-sessions': _keep, ...rest }) => rest)(AccountBan.flags)
}
