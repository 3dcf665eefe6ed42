import { DifyCommand, Flags } from '../src/cli/command.js'
import { ExitCode, InterruptedError } from '../src/core/errors.js'
import { writeFlags, yesFlag } from '../src/cli/flags.js'
import { confirmOrStop } from '../src/cli/prompt.js'
import { executeReset, planReset, type ResetResult } from '../src/encryption/reset.js'
import { encryptionDeps } from '../src/encryption/deps.js'
import {
  cacheWarning,
  renderReset,
  renderResetPlan,
  renderStorage,
  resetQuestion,
  resetRows,
} from '../src/encryption/render.js'

export default class ResetEncryptKeyPair extends DifyCommand {
  static override summary =
    "Give tenants a new RSA key pair (Dify's reset-encrypt-key-pair), with a preview, a backup and no orphans."
  static override description =
    "For each tenant: generate a new RSA-2048 key pair, back up the old private key (privkeys/<tenant_id>/private.pem.<UTC timestamp>.bak), write the new one, then in one transaction store the public key and delete the custom providers, provider models and their credential rows (provider_credentials, provider_model_credentials, load_balancing_model_configs), which cannot be decrypted any more; from Dify 1.14.1/1.14.2 also the tool providers (builtin, API, MCP), as Dify's own command does from 1.14.2. Other secrets encrypted with the old key (tools before 1.14.1, datasources, triggers, API extensions, workflow secrets, ops-tracing configs, agent tool parameters) are listed as unreadable and left in place. The caches of the old key and decrypted credentials are deleted from Redis. To keep the secrets, use `dify encryption rotate` instead."
  static override examples = [
    '<%= config.bin %> reset-encrypt-key-pair --dry-run',
    '<%= config.bin %> reset-encrypt-key-pair --tenant 6f0c…e1 --yes',
  ]
  static override writes = true
  static override gracefulInterrupt = true
  static override flags = {
    tenant: Flags.string({ summary: 'Only this tenant id (repeatable); default all tenants.', multiple: true }),
    ...writeFlags,
    ...yesFlag,
    force: Flags.boolean({
      summary: 'Reset even though the storage holds no privkeys/ while tenants have public keys.',
    }),
    backup: Flags.boolean({
      summary: 'Copy the old private key to private.pem.<UTC timestamp>.bak (--no-backup to skip).',
      default: true,
      allowNo: true,
    }),
    verbose: Flags.boolean({ char: 'v', summary: 'List the ids of the rows to delete.' }),
    concurrency: Flags.integer({
      summary: 'Tenants processed at once (key generation runs in parallel).',
      default: 4,
      min: 1,
      max: 64,
      hidden: true,
    }),
  }

  async run(): Promise<ResetResult> {
    const { flags } = await this.parse(ResetEncryptKeyPair)
    const rt = this.runtime()
    const input = {
      edition: rt.config.edition,
      tenantIds: flags.tenant,
      force: flags.force,
      backup: flags.backup,
      concurrency: flags.concurrency,
    }
    this.auditArgs = { tenant: flags.tenant ?? 'all', force: flags.force, backup: flags.backup }
    const deps = await encryptionDeps(rt)
    this.out.lines(renderStorage(deps.storage.location))
    const plan = await planReset(deps, input)
    this.out.lines(renderResetPlan(plan, { verbose: flags.verbose, dryRun: flags['dry-run'] }))
    if (flags['dry-run']) {
      return {
        ...plan,
        dryRun: true,
        outcomes: [],
        cachesDeleted: 0,
        summary: { tenants: plan.tenants.length, reset: 0, failed: 0, skipped: 0 },
      }
    }
    if (!plan.tenants.length)
      return {
        ...plan,
        dryRun: false,
        outcomes: [],
        cachesDeleted: 0,
        summary: { tenants: 0, reset: 0, failed: 0, skipped: 0 },
      }
    await confirmOrStop(resetQuestion(plan), { yes: flags.yes, word: 'reset' })
    const p = this.out.progress('Resetting…')
    const res = await executeReset(deps, plan, {
      ...input,
      signal: this.abort.signal,
      onTenantDone: (d, n) => p.update(`Resetting… ${d}/${n}`),
    })
    p.stop()
    this.out.lines(renderReset(res))
    if (res.cacheError) this.out.warn(cacheWarning(res.cacheError))
    this.auditCounts = {
      tenants: res.summary.tenants,
      reset: res.summary.reset,
      failed: res.summary.failed,
      rowsDeleted: resetRows(plan),
    }
    if (this.abort.signal.aborted) {
      throw new InterruptedError(
        `Interrupted: ${res.summary.reset} of ${res.summary.tenants} tenant(s) were reset, ${res.summary.skipped} not touched.`,
        {
          hint: 'Reset the skipped tenants with --tenant (the report lists them); the others are done.',
          details: {
            summary: res.summary,
            skipped: res.outcomes.filter((o) => o.status === 'skipped').map((o) => o.tenantId),
          },
        },
      )
    }
    const busy = res.outcomes.filter((o) => o.busy).length
    if (res.summary.failed && res.summary.failed === busy && !res.cacheError) this.setExitCode(ExitCode.busy)
    else if (res.summary.failed || res.cacheError) this.setExitCode(ExitCode.partial)
    return res
  }
}
