import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** parsed stdout when it is JSON */
  json?: any
}

/**
 * Run the built CLI (dist/) as a child process with a clean environment: only PATH, HOME and what the test gives,
 * so nothing from the developer's shell leaks in. Never a TTY.
 */
export function runCli(
  args: string[],
  opts: {
    env?: Record<string, string | undefined>
    input?: string | Buffer
    cwd?: string
    node?: string
    timeoutMs?: number
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' }
    for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v
    const child = spawn(opts.node ?? process.execPath, [BIN, ...args], {
      env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      let json: unknown
      try {
        json = JSON.parse(stdout)
      } catch {
        /* not JSON */
      }
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, json })
    })
    child.stdin.end(opts.input ?? '')
  })
}
