import { DifyCommand, Flags } from '../src/cli/command.js'
import { ConfigError } from '../src/core/errors.js'
import { renderDoctor } from '../src/doctor/render.js'
import { configFailureReport, runDoctor, type DoctorReport } from '../src/doctor/run.js'

export default class Doctor extends DifyCommand {
  /** no release notice: its database check reports the release */
  static override releaseNotice = false
  static override summary =
    'Check configuration, database, Redis, broker, storage, vector store, where SECRET_KEY comes from and tenant keys in one screen.'
  static override description =
    'The first command to run during an incident. Each check has its own time limit. Exit 0 when all pass, 4 when the configuration is invalid, 5 when a service cannot be reached, 8 when a check found a problem.'
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json']
  static override flags = {
    timeout: Flags.integer({ summary: 'Seconds each connection check may take.', min: 1, max: 120 }),
  }

  async run(): Promise<DoctorReport> {
    const { flags } = await this.parse(Doctor)
    let report: DoctorReport
    try {
      const rt = this.runtime()
      report = await runDoctor(rt, { limitMs: flags.timeout ? flags.timeout * 1000 : undefined })
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e
      report = configFailureReport(e)
    }
    this.out.lines(renderDoctor(report))
    this.setExitCode(report.exitCode)
    return report
  }
}
