import { DifyCommand, Flags } from '../src/cli/command.js'
import { PartialError } from '../src/core/errors.js'
import { writeFlags } from '../src/cli/flags.js'
import { resetPassword, type ResetPasswordReport } from '../src/accounts/reset-password.js'
import {
  choosePassword,
  ENV_PASSWORD,
  FLAG_PASSWORD_WARNING,
  passwordSourceKind,
  type ChosenPassword,
} from '../src/accounts/password-source.js'
import { ask, canPrompt } from '../src/cli/prompt.js'
import { processPasswordIo } from '../src/cli/account-io.js'
import { renderResetPassword } from '../src/accounts/render.js'
import { accountDeps } from '../src/accounts/deps.js'

export default class ResetPassword extends DifyCommand {
  static override summary =
    "Reset an account's password exactly as Dify hashes it, clear its login lock-out and revoke its sessions."
  static override description = `Finds the account the way the connected Dify release's login does. The new password comes from a hidden prompt (asked twice), --password-stdin, ${ENV_PASSWORD} or --generate; it is never printed (except once with --generate). Access tokens already issued stay valid until they expire; "dify account ban" cuts them off.`
  static override examples = [
    '<%= config.bin %> reset-password --email ops@example.com',
    'printf \'%s\' "$NEW_PW" | <%= config.bin %> reset-password --email ops@example.com --password-stdin --json',
    '<%= config.bin %> reset-password --email ops@example.com --generate --dry-run',
  ]
  static override writes = true
  static override flags = {
    email: Flags.string({ summary: 'Email of the account (matched as Dify login matches it).' }),
    'account-id': Flags.string({ summary: 'Id of the account (needed when several accounts share an email).' }),
    'password-stdin': Flags.boolean({ summary: 'Read the new password from stdin (one final newline is dropped).' }),
    generate: Flags.boolean({ summary: 'Generate a strong password that satisfies the policy and print it once.' }),
    'new-password': Flags.string({
      summary: "Dify's flag, accepted for old runbooks (visible in the process list; avoid).",
    }),
    'password-confirm': Flags.string({ summary: "Dify's flag: must equal the new password when given." }),
    'keep-sessions': Flags.boolean({ summary: 'Do not revoke the refresh-token sessions of the account.' }),
    ...writeFlags,
  }

  async run(): Promise<ResetPasswordReport & { generatedPassword?: string }> {
    const { flags } = await this.parse(ResetPassword)
    this.auditArgs = { email: flags.email, accountId: flags['account-id'], keepSessions: flags['keep-sessions'] }
    const sourceInput = {
      passwordStdin: flags['password-stdin'],
      generate: flags.generate,
      newPassword: flags['new-password'],
      passwordConfirm: flags['password-confirm'],
      envPassword: process.env[ENV_PASSWORD],
    }
    // usage errors first (before any connection or prompt); the password itself once the account is found
    const kind = passwordSourceKind(sourceInput, canPrompt)
    if (kind === 'flag') this.out.warn(FLAG_PASSWORD_WARNING)
    const email = flags.email ?? (flags['account-id'] ? undefined : await ask('Email of the account:', '--email'))
    this.auditArgs.passwordFrom = kind
    let chosen: ChosenPassword | undefined
    let committing = false
    let committed = false
    // --json: a generated password travels in every error after the UPDATE (the outcome of COMMIT may be unknown)
    this.errorDetails = () =>
      committing && chosen?.generated
        ? {
            generatedPassword: chosen.password,
            passwordChanged: committed ? true : 'unknown (check with dify account show)',
          }
        : undefined
    const rt = this.runtime()
    const report = await resetPassword(accountDeps(rt, { warn: (t) => this.out.warn(t) }), {
      email,
      accountId: flags['account-id'],
      password: async () =>
        (chosen = await choosePassword(
          sourceInput,
          processPasswordIo((t) => this.out.warn(t)),
        )).password,
      keepSessions: flags['keep-sessions'],
      dryRun: flags['dry-run'],
      forceVersion: flags['force-version'],
      beforeCommit: () => {
        committing = true
        // shown before COMMIT: an interrupt or failure from here on leaves the old password, never an unseen one
        if (chosen?.generated && !this.out.json) this.out.log(`Generated password (shown once): ${chosen.password}`)
      },
      afterCommit: () => (committed = true),
      accessTokenExpireMinutes: rt.config.accessTokenExpireMinutes,
    })
    this.auditCounts = {
      accounts: 1,
      lockoutKeysCleared: report.lockout.cleared.length,
      refreshTokensRevoked: report.sessions.refreshTokens,
    }
    for (const l of renderResetPassword(report)) this.out.log(l)
    const showGenerated = Boolean(chosen?.generated) && !report.dryRun
    if (!report.redis.ok) {
      const what = report.dryRun
        ? 'The dry run could not check Redis'
        : 'The password was changed, but Redis was unavailable'
      throw new PartialError(`${what} (${report.redis.error}): ${report.redis.notDone.join('; ')} not done.`, {
        hint: 'When Redis is back, run "dify account unlock EMAIL" and, to end the sessions, "dify reset-password" again or "dify account ban".',
        details: { report: { ...report, ...(showGenerated ? { generatedPassword: chosen!.password } : {}) } },
      })
    }
    return showGenerated ? { ...report, generatedPassword: chosen!.password } : report
  }
}
