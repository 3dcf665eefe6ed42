import { DifyCommand, Flags } from '../../src/cli/command.js'
import { ExitCode } from '../../src/core/errors.js'
import { checkEncryption, type CheckResult } from '../../src/encryption/check.js'
import { encryptionDeps } from '../../src/encryption/deps.js'
import { renderCheck } from '../../src/encryption/render.js'

export default class EncryptionCheck extends DifyCommand {
  static override summary =
    "Check every tenant's RSA key and that every tenant-key-encrypted secret decrypts (read-only)."
  static override description =
    'For each tenant (workspace): the private key exists in storage at privkeys/<tenant_id>/private.pem, parses and matches tenants.encrypt_public_key; every encrypted value of the model-provider, tool, MCP, datasource, trigger, API-extension, workflow-secret, ops-tracing and agent-tool-parameter columns (the locations of the connected release, docs/encryption.md) decrypts with it. Exit 0 when all is well, 8 when a key is missing or wrong or a value does not decrypt.'
  static override examples = [
    '<%= config.bin %> encryption check',
    '<%= config.bin %> encryption check --tenant 6f0c…e1 --verbose',
    '<%= config.bin %> encryption check --json',
  ]
  static override flags = {
    tenant: Flags.string({ summary: 'Only this tenant id (repeatable).', multiple: true }),
    verbose: Flags.boolean({ char: 'v', summary: 'List the ids of rows whose values do not decrypt.' }),
  }

  async run(): Promise<CheckResult> {
    const { flags } = await this.parse(EncryptionCheck)
    const deps = await encryptionDeps(this.runtime())
    const p = this.out.progress('Checking tenant keys and encrypted values…')
    const res = await checkEncryption(deps, { tenantIds: flags.tenant })
    p.stop()
    this.out.lines(renderCheck(res, { verbose: flags.verbose }))
    if (!res.ok) this.setExitCode(ExitCode.problems)
    if (!flags.verbose) for (const t of res.tenants) for (const c of t.columns) c.failedRowIds = []
    return res
  }
}
