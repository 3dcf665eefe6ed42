import { DifyCommand } from '../../src/cli/command.js'
import { ConnectError } from '../../src/core/errors.js'
import { table } from '../../src/core/table.js'
import { readDbState } from '../../src/migrations/state.js'
import { history, type HistoryResult } from '../../src/migrations/status.js'

export default class DbHistory extends DifyCommand {
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
    this.out.log(
      table(
        h.revisions.map((r) => ({
          mark: `${r.current ? '*' : ' '}${r.head ? 'H' : ' '}`,
          revision: r.revision,
          down: r.downRevision ?? (r.baseline ? '(baseline)' : '-'),
          release: r.release,
          description: r.description,
        })),
        [
          { key: 'mark', header: '' },
          { key: 'revision', header: 'REVISION' },
          { key: 'down', header: 'REVISES' },
          { key: 'release', header: 'RELEASE' },
          { key: 'description', header: 'DESCRIPTION' },
        ],
      ),
    )
    this.out.log(
      `\n* current${current ? ` (${current})` : reachable ? ' (none: empty database or a revision not listed)' : ' (database not reachable)'}   H head`,
    )
    return h
  }
}
