import { readFileSync } from 'node:fs'
import { DifyCommand, Flags } from '../../src/cli/command.js'
import { ExitCode, UsageError } from '../../src/core/errors.js'
import { writeFlags } from '../../src/cli/flags.js'
import { encryptionDeps } from '../../src/encryption/deps.js'
import { cacheWarning, renderRestoreKey, renderStorage } from '../../src/encryption/render.js'
import { restoreKey, type RestoreResult } from '../../src/encryption/restore.js'

export default class EncryptionRestoreKey extends DifyCommand {
  static override summary = "Put a saved private key back for a tenant (the answer to Dify's PrivkeyNotFoundError)."
  static override description =
    "The key (from a PEM file or a backup that dify-ops made in storage) must parse and every encrypted value of the tenant must decrypt with it, or nothing is changed (exit 8). It is written to privkeys/<tenant_id>/private.pem in Dify's form, tenants.encrypt_public_key is set from it, the key it replaces is backed up, and the tenant's Redis caches are deleted."
  static override examples = [
    '<%= config.bin %> encryption restore-key --tenant 6f0c…e1 --file ./private.pem',
    '<%= config.bin %> encryption restore-key --tenant 6f0c…e1 --backup 20260128T031500Z',
  ]
  static override writes = true
  static override flags = {
    tenant: Flags.string({ summary: 'The tenant id.', required: true }),
    file: Flags.string({ summary: 'A PEM file holding the private key.', exactlyOne: ['file', 'backup'] }),
    backup: Flags.string({
      summary: 'The UTC timestamp of a backup privkeys/<tenant_id>/private.pem.<TIMESTAMP>.bak.',
      exactlyOne: ['file', 'backup'],
    }),
    ...writeFlags,
  }

  async run(): Promise<RestoreResult> {
    const { flags } = await this.parse(EncryptionRestoreKey)
    let pem: Buffer | undefined
    if (flags.file) {
      try {
        pem = readFileSync(flags.file)
      } catch (e) {
        throw new UsageError(`Cannot read ${flags.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`)
      }
    }
    this.auditArgs = { tenant: flags.tenant, source: flags.file ? 'file' : `backup ${flags.backup}` }
    const deps = await encryptionDeps(this.runtime())
    this.out.lines(renderStorage(deps.storage.location))
    const res = await restoreKey(deps, {
      tenantId: flags.tenant,
      pem,
      backup: flags.backup,
      dryRun: flags['dry-run'],
    })
    this.out.lines(renderRestoreKey(res))
    if (!res.unchanged && !res.dryRun && res.cacheError) {
      this.out.warn(cacheWarning(res.cacheError))
      this.setExitCode(ExitCode.partial)
    }
    if (!res.dryRun && !res.unchanged) this.auditCounts = { values: res.values }
    return res
  }
}
