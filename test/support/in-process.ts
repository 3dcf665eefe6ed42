/**
 * Run a command class in this process, from the TypeScript sources (no build): for flag, usage and exit-code
 * behaviour that needs no service. stdout/stderr are captured; the environment is replaced for the run (only
 * PATH and HOME are kept, as runCli does), and ./.env is not read (the cwd is an empty directory).
 */
import { Config, Errors, type Command } from '@oclif/core'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { format } from 'node:util'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
let config: Config | undefined

export interface InProcessResult {
  code: number
  stdout: string
  stderr: string
  json?: any
}

type CommandClass = { run(argv?: string[], opts?: Config): Promise<unknown> } & typeof Command

export async function runInProcess(
  cmd: CommandClass,
  argv: string[],
  opts: { env?: Record<string, string> } = {},
): Promise<InProcessResult> {
  config ??= await Config.load({ root: ROOT })
  const out: string[] = []
  const err: string[] = []
  const saved = {
    out: process.stdout.write,
    err: process.stderr.write,
    log: console.log,
    error: console.error,
    env: process.env,
    cwd: process.cwd(),
    exitCode: process.exitCode,
  }
  const sigint = new Set(process.listeners('SIGINT'))
  process.env = { PATH: saved.env.PATH, HOME: saved.env.HOME, ...opts.env }
  process.chdir(mkdtempSync(join(tmpdir(), 'dops-inproc-')))
  process.stdout.write = ((c: string | Uint8Array) => (out.push(String(c)), true)) as typeof process.stdout.write
  process.stderr.write = ((c: string | Uint8Array) => (err.push(String(c)), true)) as typeof process.stderr.write
  // oclif writes the --json result with console.log (ux.stdout)
  console.log = (...a: unknown[]) => void out.push(format(...a) + '\n')
  console.error = (...a: unknown[]) => void err.push(format(...a) + '\n')
  process.exitCode = undefined
  let code = 0
  try {
    await cmd.run(argv, config)
    code = Number(process.exitCode ?? 0)
  } catch (e) {
    if (e instanceof Errors.ExitError) code = e.oclif.exit ?? 1
    else throw e
  } finally {
    process.stdout.write = saved.out
    process.stderr.write = saved.err
    console.log = saved.log
    console.error = saved.error
    process.env = saved.env
    process.chdir(saved.cwd)
    process.exitCode = saved.exitCode
    // the command's own SIGINT handler (DifyCommand.init), not the test runner's
    for (const l of process.listeners('SIGINT')) if (!sigint.has(l)) process.removeListener('SIGINT', l)
  }
  const stdout = out.join('')
  let json: unknown
  try {
    json = JSON.parse(stdout)
  } catch {
    /* not JSON */
  }
  return { code, stdout, stderr: err.join(''), json }
}
