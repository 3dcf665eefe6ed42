import { DifyCommand, Flags } from '../../src/cli/command.js'
import { ExitCode, InterruptedError } from '../../src/core/errors.js'
import { writeFlags, yesFlag } from '../../src/cli/flags.js'
import { confirmOrStop } from '../../src/cli/prompt.js'
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
    const rt = this.runtime()
    this.auditArgs = { tenant: flags.tenant ?? 'all', dropUndecryptable: flags['drop-undecryptable'] }
    const [db, storage] = await Promise.all([rt.db(), rt.storage()])
    this.out.log(`Storage: ${storage.location}`)
    if (!flags['dry-run']) {
      await confirmOrStop(
        `Rotate the key pair of ${flags.tenant?.length ? `${flags.tenant.length} tenant(s)` : 'every tenant'} and re-encrypt their secrets${flags['drop-undecryptable'] ? ', removing values that do not decrypt' : ''}?`,
        { yes: flags.yes },
      )
    }
    const p = this.out.progress('Rotating…')
    const res = await rotateKeys(
      { db, storage, redis: () => rt.redis() },
      {
        tenantIds: flags.tenant,
        dryRun: flags['dry-run'],
        dropUndecryptable: flags['drop-undecryptable'],
        concurrency: flags.concurrency,
        signal: this.abort.signal,
        onTenantDone: (d, n) => p.update(`Rotating… ${d}/${n}`),
      },
    )
    p.stop()
    for (const o of res.outcomes) {
      const state = { failed: 'FAILED', 'would-rotate': 'would rotate', rotated: 'rotated', skipped: 'skipped' }[
        o.status
      ]
      this.out.log(
        `${state.padEnd(12)} ${o.tenantId} (${o.name})${o.resumed ? ' [finishing an interrupted run]' : ''}${o.recoveredFrom ? ` [old key taken from ${o.recoveredFrom}]` : ''}: ${o.reencrypted} value(s) re-encrypted${o.dropped ? `, ${o.dropped} dropped` : ''}${o.error ? `; ${o.error}` : ''}`,
      )
      for (const u of o.undecryptable) {
        this.out.log(
          `  does not decrypt: ${u.table}.${u.column} ${u.values} value(s)${flags.verbose ? ` in rows ${u.rowIds.join(' ')}` : ''}`,
        )
      }
    }
    const s = res.summary
    this.out.log(
      `\n${s.rotated} of ${s.tenants} tenant(s) ${res.dryRun ? 'would be rotated' : 'rotated'}; ${s.reencrypted} value(s) re-encrypted; ${s.undecryptable} undecryptable${s.dropped ? `; ${s.dropped} dropped` : ''}.`,
    )
    if (res.dryRun) this.out.log('Dry run: nothing was changed.')
    if (res.cacheError) this.out.warn(`The Redis caches could not be deleted (${res.cacheError}).`)
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
