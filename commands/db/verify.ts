import { DifyCommand, Flags } from '../../src/cli/command.js'
import { ExitCode } from '../../src/core/errors.js'
import { renderVerify } from '../../src/migrations/render.js'
import { verifySchema, type VerifyResult } from '../../src/migrations/schema/verify.js'

export default class DbVerify extends DifyCommand {
  /** no release notice: it reports the release and what is wrong with it */
  static override releaseNotice = false
  static override summary = "Compare the live schema with Dify's exact schema at its alembic_version (read-only)."
  static override description =
    'Lists missing or unexpected tables, columns, indexes and constraints, type/nullability/default differences and INVALID indexes (PostgreSQL), each with the revision that creates, changes or drops the object, and a fix only when it is safe (db stamp, drop + rerun, REINDEX). Ignores pgvector collection tables and dify_ops_ tables. Exit 0 when the schema matches, 8 when it differs, 4 when the revision is unknown to this CLI.'
  static override examples = [
    '<%= config.bin %> db verify',
    '<%= config.bin %> db verify --json',
    '<%= config.bin %> db verify --revision 58eb7bdb93fe',
  ]
  static override flags = {
    revision: Flags.string({ summary: 'Compare with this revision instead of alembic_version.' }),
  }

  async run(): Promise<VerifyResult> {
    const { flags } = await this.parse(DbVerify)
    const db = await this.runtime().db()
    const p = this.out.progress('Reading the schema…')
    const v = await verifySchema(db, { revision: flags.revision })
    p.stop()
    this.out.lines(renderVerify(v))
    if (!v.known) this.setExitCode(ExitCode.config)
    else if (v.differences.length) this.setExitCode(ExitCode.problems)
    return v
  }
}
