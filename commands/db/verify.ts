import { DifyCommand, Flags } from '../../src/cli/command.js'
import { ExitCode } from '../../src/core/errors.js'
import { verifySchema, type VerifyResult } from '../../src/migrations/schema/verify.js'

export default class DbVerify extends DifyCommand {
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
    if (!v.known) {
      this.out.log(`Not compared: ${v.suggestion.message}`)
      this.setExitCode(ExitCode.config)
      return v
    }
    if (!v.differences.length) this.out.log(`Schema matches ${v.revision} exactly (${v.dialect}).`)
    else {
      this.out.log(`${v.differences.length} difference(s) from the schema expected at ${v.revision} (${v.dialect}):`)
      for (const d of v.differences) this.out.log(`  - ${d.message}`)
      this.out.log(`Fix: ${v.suggestion.message}`)
      for (const s of v.suggestion.steps) this.out.log(`  ${s}`)
      this.setExitCode(ExitCode.problems)
    }
    return v
  }
}
