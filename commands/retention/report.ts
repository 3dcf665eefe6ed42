import { Flags } from '@oclif/core'
import { DifyCommand } from '../../src/cli/command.js'
import { durationFlag, uuidFlag } from '../../src/cli/flags.js'
import { retentionDeps } from '../../src/retention/deps.js'
import { RETENTION_GROUPS, type RetentionGroup } from '../../src/dify/retention-map.js'
import { retentionReport, type RetentionReport } from '../../src/retention/report.js'
import { renderReport } from '../../src/retention/render.js'

export default class RetentionReportCmd extends DifyCommand {
  static override summary =
    'Show per table what `retention clean` would delete: rows, rows older than the cut-off, bytes, and the index each batch uses.'
  static override description =
    'Read-only. Covers the dependency map of the connected release (docs/retention.md): workflow runs and what belongs to them, messages and theirs, conversations. Warns when a batch delete would have no index, with the DDL that fixes it.'
  static override examples = [
    '<%= config.bin %> retention report --older-than 30d',
    '<%= config.bin %> retention report --app 3f2a9c1e-0b7d-4c55-9a1e-2f6b8d0c4e11 --json',
  ]
  static override flags = {
    'older-than': durationFlag({
      default: 30 * 86_400,
      summary: 'The cut-off: rows created before now minus this (e.g. 30d).',
    }),
    app: uuidFlag({ multiple: true, summary: 'Only this app (repeatable).' }),
    tenant: uuidFlag({ multiple: true, summary: 'Only this workspace (repeatable).' }),
    tables: Flags.string({
      summary: `Only these groups, comma-separated: ${RETENTION_GROUPS.join(',')}.`,
      delimiter: ',',
      multiple: true,
      options: [...RETENTION_GROUPS],
    }),
  }

  async run(): Promise<RetentionReport> {
    const { flags } = await this.parse(RetentionReportCmd)
    const deps = await retentionDeps(this.runtime())
    const progress = this.out.progress('Counting…')
    let r: RetentionReport
    try {
      r = await retentionReport(deps, {
        olderThanSeconds: flags['older-than'],
        apps: flags.app,
        tenants: flags.tenant,
        groups: flags.tables as RetentionGroup[] | undefined,
      })
    } finally {
      progress.stop()
    }
    for (const l of renderReport(r)) this.out.log(l)
    for (const w of r.warnings) this.out.warn(w)
    return r
  }
}
