import { DifyCommand, Flags } from '../../src/cli/command.js'
import { ExitCode } from '../../src/core/errors.js'
import { table } from '../../src/core/table.js'
import { checkEncryption, type CheckResult } from '../../src/encryption/check.js'

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
    const rt = this.runtime()
    const [db, storage] = await Promise.all([rt.db(), rt.storage()])
    const p = this.out.progress('Checking tenant keys and encrypted values…')
    const res = await checkEncryption({ db, storage }, { tenantIds: flags.tenant })
    p.stop()
    this.out.log(`Storage: ${res.storage}`)
    for (const t of res.tenants) {
      const mark = t.ok ? 'ok' : 'PROBLEM'
      this.out.log(
        `\n${mark.padEnd(8)} tenant ${t.tenantId} (${t.name}): key ${t.key.status}${t.key.detail ? ` (${t.key.detail})` : ''}; ${t.values} encrypted values, ${t.undecryptable} undecryptable`,
      )
      if (t.columns.length) {
        this.out.log(
          table(
            t.columns.map((c) => ({
              ...c,
              col: `${c.table}.${c.column}`,
              ids: flags.verbose ? c.failedRowIds.join(' ') : '',
            })),
            [
              { key: 'col', header: '  TABLE.COLUMN' },
              { key: 'rows', header: 'ROWS' },
              { key: 'values', header: 'VALUES' },
              { key: 'undecryptable', header: 'UNDECRYPTABLE' },
              { key: 'malformed', header: 'MALFORMED' },
              ...(flags.verbose ? [{ key: 'ids', header: 'ROW IDS' }] : []),
            ],
          ).replace(/^/gm, '  '),
        )
      }
    }
    const s = res.summary
    this.out.log(
      `\n${s.tenantsOk}/${s.tenants} tenants ok; ${s.keyProblems} key problems; ${s.undecryptable} of ${s.values} values do not decrypt.`,
    )
    if (res.missingTables.length)
      this.out.log(`Tables not in this database (older release): ${res.missingTables.join(', ')}`)
    if (!res.ok) this.setExitCode(ExitCode.problems)
    if (!flags.verbose) for (const t of res.tenants) for (const c of t.columns) c.failedRowIds = []
    return res
  }
}
