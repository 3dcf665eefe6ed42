/** The process-side I/O of the account commands (stdin, prompts), kept out of the domain functions. */
import { ask, canPrompt } from './prompt.js'
import { UsageError } from '../core/errors.js'
import type { PasswordSourceIo } from '../accounts/password-source.js'

/** All of stdin as UTF-8; bytes that are not UTF-8 are refused (exit 2), never replaced by U+FFFD and hashed. */
export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c)
  return decodeUtf8Strict(Buffer.concat(chunks), 'stdin')
}

export function decodeUtf8Strict(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    throw new UsageError(`${what} is not valid UTF-8.`, {
      hint: 'Give the password as UTF-8 text (Dify stores and compares passwords as UTF-8).',
    })
  }
}

export function processPasswordIo(warn: (t: string) => void): PasswordSourceIo {
  return {
    readStdin: readAllStdin,
    canPrompt,
    prompt: (message) => ask(message, '--password-stdin', { secret: true }),
    warn,
  }
}
