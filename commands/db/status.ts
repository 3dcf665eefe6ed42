import { DifyCommand } from '../../src/cli/command.js'
import { migrationDeps } from '../../src/migrations/deps.js'
import { dbStatus, type StatusResult } from '../../src/migrations/status.js'
import { renderStatus } from '../../src/migrations/render.js'

export default class DbStatus extends DifyCommand {
  /** no release notice: it reports the release and what is wrong with it */
  static override releaseNotice = false
  static override summary = 'Show the schema revision, the target, pending revisions and who holds the upgrade lock.'
  static override examples = ['<%= config.bin %> db status', '<%= config.bin %> db status --json']
  async run(): Promise<StatusResult> {
    await this.parse(DbStatus)
    const rt = this.runtime()
    const s = await dbStatus(migrationDeps(rt), { difyRoot: rt.config.difyRoot })
    this.out.lines(renderStatus(s))
    return s
  }
}
