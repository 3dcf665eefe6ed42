/**
 * Where the new password comes from: exactly one of --password-stdin, DIFY_NEW_PASSWORD, --generate, or Dify's
 * --new-password (with its --password-confirm); otherwise a hidden prompt asked twice on a terminal. The caller
 * passes the environment value and the I/O, so this stays free of process state.
 */
import { UsageError } from '../core/errors.js'
import { generatePassword } from './password.js'

export type PasswordSourceKind = 'stdin' | 'env' | 'generate' | 'flag' | 'prompt'

export interface PasswordSourceInput {
  passwordStdin?: boolean
  generate?: boolean
  /** Dify's --new-password */
  newPassword?: string
  /** Dify's --password-confirm */
  passwordConfirm?: string
  /** the value of DIFY_NEW_PASSWORD */
  envPassword?: string
}

export interface PasswordSourceIo {
  readStdin: () => Promise<string>
  canPrompt: () => boolean
  /** a hidden prompt */
  prompt: (message: string) => Promise<string>
  warn: (text: string) => void
}

export interface ChosenPassword {
  password: string
  source: PasswordSourceKind
  /** true with --generate: the caller shows it once */
  generated: boolean
}

export const ENV_PASSWORD = 'DIFY_NEW_PASSWORD'
export const SOURCE_OPTIONS = `--password-stdin, the ${ENV_PASSWORD} environment variable or --generate`

/** The content of stdin without its one final line ending (as `docker login --password-stdin`). */
export function stripFinalNewline(text: string): string {
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text
}

/**
 * Which source the flags and environment select, checked before anything is read or any connection opened:
 * two sources, or none without a terminal, are usage errors (exit 2) naming the options.
 */
export function passwordSourceKind(input: PasswordSourceInput, canPrompt: () => boolean): PasswordSourceKind {
  const given: Array<[PasswordSourceKind, string]> = []
  if (input.passwordStdin) given.push(['stdin', '--password-stdin'])
  if (input.envPassword !== undefined && input.envPassword !== '') given.push(['env', ENV_PASSWORD])
  if (input.generate) given.push(['generate', '--generate'])
  if (input.newPassword !== undefined) given.push(['flag', '--new-password'])
  if (given.length > 1) {
    throw new UsageError(`Give the new password one way only; got ${given.map(([, n]) => n).join(' and ')}.`, {
      hint: `Use one of ${SOURCE_OPTIONS} (unset ${ENV_PASSWORD} if it is left over).`,
    })
  }
  if (input.generate && input.passwordConfirm !== undefined) {
    throw new UsageError('--password-confirm makes no sense with --generate.', { hint: 'Drop --password-confirm.' })
  }
  const kind = given[0]?.[0] ?? 'prompt'
  if (kind === 'prompt' && !canPrompt()) {
    throw new UsageError('No new password given, and there is no terminal to ask for it.', {
      hint: `Use ${SOURCE_OPTIONS}.`,
    })
  }
  return kind
}

export async function choosePassword(input: PasswordSourceInput, io: PasswordSourceIo): Promise<ChosenPassword> {
  const kind = passwordSourceKind(input, io.canPrompt)
  let password: string
  switch (kind) {
    case 'stdin':
      password = stripFinalNewline(await io.readStdin())
      if (!password)
        throw new UsageError('--password-stdin read an empty password.', {
          hint: 'Pipe the password in, e.g. printf \'%s\' "$PW" | dify reset-password --email ADDRESS --password-stdin.',
        })
      break
    case 'env':
      password = input.envPassword!
      break
    case 'generate':
      return { password: generatePassword(), source: 'generate', generated: true }
    case 'flag':
      password = input.newPassword!
      break
    default: {
      password = await io.prompt('New password:')
      const again = await io.prompt('Repeat the new password:')
      if (again !== password)
        throw new UsageError('The two passwords differ.', {
          hint: 'Run the command again and type the same password twice.',
        })
      return { password, source: 'prompt', generated: false }
    }
  }
  if (input.passwordConfirm !== undefined && input.passwordConfirm !== password) {
    throw new UsageError('The new password and --password-confirm differ.', {
      hint: 'Pass the same password to both, or drop --password-confirm.',
    })
  }
  return { password, source: kind, generated: false }
}

/** The warning for Dify's --new-password (shown as soon as the flags are parsed). */
export const FLAG_PASSWORD_WARNING =
  'A password given on the command line is visible to other users of this machine (process list, shell history); prefer the prompt, --password-stdin or DIFY_NEW_PASSWORD.'
