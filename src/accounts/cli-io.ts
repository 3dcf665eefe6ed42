/** The process-side I/O of the account commands (stdin, prompts), kept out of the domain functions. */
import { ask, canPrompt } from '../cli/prompt.js'
import type { PasswordSourceIo } from './password-source.js'

export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c)
  return Buffer.concat(chunks).toString('utf8')
}

export function processPasswordIo(warn: (t: string) => void): PasswordSourceIo {
  return {
    readStdin: readAllStdin,
    canPrompt,
    prompt: (message) => ask(message, '--password-stdin', { secret: true }),
    warn,
  }
}
