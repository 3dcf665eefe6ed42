import { DifyCommand } from '../../src/cli/command.js'
import { ConnectError } from '../../src/core/errors.js'
import { renderHistory } from '../../src/migrations/render.js'
import { readDbState } from '../../src/migrations/state.js'
import { history, type HistoryResult } from '../../src/migrations/status.js'

export default class DbHistory extends DifyCommand {
  /** no release notice: the revisions are what it shows */
  static override releaseNotice = false
  static override summary =
    "List the Dify revisions this CLI can apply, marking the database's current revision and the head."
  static override examples = ['<%= config.bin %> db history', '<%= config.bin %> db history --json']

  async run(): Promise<HistoryResult> {
    await this.parse(DbHistory)
    let current: string | null = null
    let reachable = true
    try {
      const st = await readDbState(await this.runtime().db())
      current = st.versions?.length === 1 ? st.versions[0]! : null
    } catch (e) {
      if (!(e instanceof ConnectError)) throw e
      reachable = false
      this.out.warn(`${e.message} The current revision is not marked.`)
    }
    const h = history(undefined, current, reachable)
    this.out.lines(renderHistory(h, current, reachable))
    return h
  }
}
