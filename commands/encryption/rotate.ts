import { DifyCommand, Flags } from '../../src/cli/command.js'
import { ExitCode, InterruptedError } from '../../src/core/errors.js'
import { writeFlags, yesFlag } from '../../src/cli/flags.js'
import { confirmOrStop } from '../../src/cli/prompt.js'
import { encryptionDeps } from '../../src/encryption/deps.js'
import { renderRotate, renderStorage, rotateQuestion, rotateWarnings } from '../../src/encryption/render.js'
import { rotateKeys, type RotateResult } from '../../src/encryption/rotate.js'

export default class EncryptionRotate extends DifyCommand {
  static override summary =
    'Give tenants a new RSA key pair without losing a secret: every encrypted value is re-encrypted.'
  static override description =
    'For each tenant: every tenant-key-encrypted value (model providers, tools, MCP, datasources, triggers, API extensions, workflow secrets, ops-tracing configs, agent tool parameters) is decrypted with the old key and encrypted with a new one in the transaction that stores the new public key; JSON documents keep every other byte. The old key stays in storage as privkeys/<tenant_id>/private.pem.previous until the transaction has committed and every value decrypts with the new key; run the command again after a crash and it finishes the job (from private.pem.previous if private.pem is torn). One run per tenant at a time (a Redis lock plus a row lock; another run waits up to 120 s, then that tenant is busy: exit 6). Values that do not decrypt are reported and left as they are (exit 8), or removed with --drop-undecryptable.'
  static override examples = [
    '<%= config.bin %> encryption rotate --dry-run',
    '<%= config.bin %> encryption rotate --tenant 6f0c…e1 --yes',
  ]
  static override writes = true
  static override gracefulInterrupt = true
  static override flags = {
    tenant: Flags.string({ summary: 'Only this tenant id (repeatable); default all tenants.', multiple: true }),
    ...writeFlags,
    ...yesFlag,
    'drop-undecryptable': Flags.boolean({
      summary: 'Remove values that do not decrypt (JSON fields become "", rows of whole-value columns are deleted).',
    }),
    verbose: Flags.boolean({ char: 'v', summary: 'List the ids of rows with undecryptable values.' }),
    concurrency: Flags.integer({ summary: 'Tenants processed at once.', default: 4, min: 1, max: 64, hidden: true }),
  }

  async run(): Promise<RotateResult> {
    const { flags } = await this.parse(EncryptionRotate)
    this.auditArgs = { tenant: flags.tenant ?? 'all', dropUndecryptable: flags['drop-undecryptable'] }
    const deps = await encryptionDeps(this.runtime())
    this.out.lines(renderStorage(deps.storage.location))
    if (!flags['dry-run']) {
      await confirmOrStop(rotateQuestion({ tenants: flags.tenant, dropUndecryptable: flags['drop-undecryptable'] }), {
        yes: flags.yes,
      })
    }
    const p = this.out.progress('Rotating…')
    const res = await rotateKeys(deps, {
      tenantIds: flags.tenant,
      dryRun: flags['dry-run'],
      dropUndecryptable: flags['drop-undecryptable'],
      concurrency: flags.concurrency,
      signal: this.abort.signal,
      onTenantDone: (d, n) => p.update(`Rotating… ${d}/${n}`),
    })
    p.stop()
    this.out.lines(renderRotate(res, { verbose: flags.verbose }))
    for (const w of rotateWarnings(res)) this.out.warn(w)
    const s = res.summary
    if (!res.dryRun)
      this.auditCounts = {
        tenants: s.tenants,
        rotated: s.rotated,
        failed: s.failed,
        reencrypted: s.reencrypted,
        undecryptable: s.undecryptable,
        dropped: s.dropped,
      }
    if (this.abort.signal.aborted) {
      throw new InterruptedError(
        `Interrupted: ${s.rotated} of ${s.tenants} tenant(s) were rotated, ${s.skipped} not started.`,
        {
          hint: 'Rotate the skipped tenants with --tenant (listed in the report); tenants caught mid-way are finished by any rerun that includes them.',
          details: { summary: s, skipped: res.outcomes.filter((o) => o.status === 'skipped').map((o) => o.tenantId) },
        },
      )
    }
    if (s.failed && s.failed === s.busy && !res.cacheError) this.setExitCode(ExitCode.busy)
    else if (s.failed || res.cacheError) this.setExitCode(ExitCode.partial)
    else if (s.undecryptable) this.setExitCode(ExitCode.problems)
    if (!flags.verbose) for (const o of res.outcomes) for (const u of o.undecryptable) u.rowIds = []
    return res
  }
}
