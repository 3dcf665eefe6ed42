import { NotConfirmedError, UsageError } from '../core/errors.js'

export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !process.env.CI
}

/**
 * Ask for confirmation before a destructive write. `--yes` answers for the user; without a TTY and without
 * `--yes` it is a usage error (exit 2) naming the flag.
 */
export async function confirm(message: string, opts: { yes?: boolean; word?: string }): Promise<boolean> {
  if (opts.yes) return true
  if (!canPrompt()) {
    throw new UsageError(`Confirmation needed and there is no terminal to ask: ${message}`, {
      hint: 'Pass --yes to confirm.',
    })
  }
  if (opts.word) {
    const { input } = await import('@inquirer/prompts')
    const answer = await input({ message: `${message} Type "${opts.word}" to continue:` })
    return answer.trim() === opts.word
  }
  const { confirm: ask } = await import('@inquirer/prompts')
  return ask({ message, default: false })
}

/**
 * The one confirmation of a writing command: returns when confirmed (or --yes); answering "no" throws
 * NotConfirmedError (exit 1, nothing changed, no audit line); no terminal and no --yes is exit 2 naming --yes.
 */
export async function confirmOrStop(
  message: string,
  opts: { yes?: boolean; word?: string; declined?: string },
): Promise<void> {
  if (!(await confirm(message, opts))) {
    throw new NotConfirmedError(opts.declined ?? 'Not confirmed: nothing was changed.', {
      hint: 'Run it again and confirm, or pass --yes.',
    })
  }
}

/** Ask for a value; without a TTY this is a usage error naming the flag that would have given it. */
export async function ask(message: string, flag: string, opts: { secret?: boolean } = {}): Promise<string> {
  if (!canPrompt()) {
    throw new UsageError(`Missing ${flag} and there is no terminal to ask for it.`, { hint: `Pass ${flag}.` })
  }
  const p = await import('@inquirer/prompts')
  return opts.secret ? p.password({ message, mask: '*' }) : p.input({ message })
}
