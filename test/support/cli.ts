import { spawn, type ChildProcess } from 'node:child_process'
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

/**
 * The built CLI as a child the test can signal, or crash a service under: `done` resolves with its result and when
 * it ended (SIGKILL after 90 s). Same clean environment as runCli; stdin is `input` when given, else closed; `cwd`
 * the working directory.
 */
export function startCli(
  args: string[],
  env: Record<string, string>,
  input?: string,
  cwd?: string,
): { child: ChildProcess; done: Promise<CliResult & { at: number }> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    cwd,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  if (input !== undefined) child.stdin!.end(input)
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  const done = new Promise<CliResult & { at: number }>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(killer)
      let json: unknown
      try {
        json = JSON.parse(stdout)
      } catch {
        /* not JSON */
      }
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, json, at: Date.now() })
    }),
  )
  return { child, done }
}

/** Wait until a dify-ops session waits on a lock on the server `admin` is connected to (about `tries` × 100 ms). */
export async function waitForLockWait(
  admin: { query(sql: string): Promise<{ rows: Array<{ n: number }> }> },
  tries: number,
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    const r = await admin.query(
      "select count(*)::int as n from pg_stat_activity where application_name = 'dify-ops' and wait_event_type = 'Lock'",
    )
    if (r.rows[0]!.n > 0) return
    await new Promise((res) => setTimeout(res, 100))
  }
  throw new Error('the CLI never waited on the lock')
}
