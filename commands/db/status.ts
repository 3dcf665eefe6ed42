import { DifyCommand, Flags } from '../../src/cli/command.js'
import { migrationDeps } from '../../src/migrations/deps.js'
import { dbStatus, type StatusResult } from '../../src/migrations/status.js'
import { impactLines } from '../../src/migrations/impact.js'

export default class DbStatus extends DifyCommand {
  static override summary = 'Show the schema revision, the target, pending revisions and who holds the upgrade lock.'
  static override examples = ['<%= config.bin %> db status', '<%= config.bin %> db status --json']
  static override flags = {
    'dify-root': Flags.string({ summary: 'Dify code whose migrations decide the target.' }),
  }

  async run(): Promise<StatusResult> {
    const { flags } = await this.parse(DbStatus)
    const s = await dbStatus(migrationDeps(this.runtime()), { difyRoot: flags['dify-root'] })
    const rel = (r: string | null) => (r ? ` (${r})` : '')
    this.out.log(`Database:  ${s.database}`)
    this.out.log(
      `Dialect:   ${s.dialect}, DDL ${s.transactionalDdl ? 'transactional (a failed revision rolls back)' : 'not transactional (a failed revision may be half-applied)'}`,
    )
    this.out.log(
      `Current:   ${s.versions === null ? 'none (no alembic_version table)' : s.versions.length > 1 ? s.versions.join(' + ') : (s.current ?? 'none') + rel(s.currentRelease)}`,
    )
    this.out.log(
      `Target:    ${s.target.revision}${rel(s.targetRelease)}, ${s.target.source === 'cli' ? "this CLI's head" : `head of the Dify code in ${s.target.difyCodeDir}`}`,
    )
    if (s.problem)
      this.out.log(`Problem:   ${s.problem.message}${s.problem.hint ? `\n           ${s.problem.hint}` : ''}`)
    else if (s.upToDate) this.out.log('Pending:   none, up to date')
    else {
      this.out.log(`Pending:   ${s.pending.length} revision(s)`)
      for (const p of s.pending) {
        this.out.log(`           ${p.revision}  ${p.release.padEnd(7)} ${p.description}`)
        for (const l of impactLines(p, '               ')) this.out.log(l)
      }
    }
    for (const e of s.dataEffects)
      this.out.log(
        `Data:      ${e.revision} ${e.description}: ${e.rows === null ? 'not countable yet' : `${e.rows} row(s)`}`,
      )
    this.out.log(`Schema:    ${schemaLine(s)}`)
    for (const d of s.schema.differences.slice(0, 20)) this.out.log(`           - ${d.message}`)
    if (s.schema.differences.length > 20) this.out.log(`           … ${s.schema.differences.length - 20} more (--json)`)
    if (s.schema.differences.length) {
      this.out.log(`Fix:       ${s.schema.suggestion.message}`)
      for (const st of s.schema.suggestion.steps) this.out.log(`           ${st}`)
    }
    const r = s.lock.redis
    this.out.log(
      `Lock:      ${'error' in r ? `Redis not readable (${r.error})` : r.held ? `${r.key} held, expires in ${r.ttlMs === null ? 'never (no TTL)' : Math.ceil(r.ttlMs / 1000) + ' s'}` : `${r.key} free`}` +
        (s.lock.database === null ? '' : `; database lock ${s.lock.database ? 'held by a dify-ops upgrade' : 'free'}`),
    )
    return s
  }
}

function schemaLine(s: StatusResult): string {
  const c = s.schema
  if (c.error) return `not checked (${c.error})`
  if (!c.checked)
    return c.revision ? `not checked (no expected schema known for ${c.revision})` : 'not checked (no revision)'
  return c.differences.length
    ? `${c.differences.length} difference(s) from the schema expected at ${c.revision}`
    : `matches ${c.revision}`
}
