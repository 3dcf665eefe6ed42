/**
 * The base of every command. This file (with bin/) is the only place in src/ that imports oclif: it parses the
 * shared flags, loads the configuration, owns the Runtime (connections closed in finally), renders errors with
 * their exit codes, writes the audit line of writing commands, and turns SIGINT into exit 130.
 */
import { Command, Flags, Errors } from '@oclif/core'
import type { Input, ParserOutput } from '@oclif/core/interfaces'
import { loadConfig, type Config } from '../config/schema.js'
import { Runtime } from '../runtime/index.js'
import {
  DifyOpsError,
  ExitCode,
  InterruptedError,
  NotConfirmedError,
  UsageError,
  isDifyOpsError,
  type ErrorCode,
} from '../core/errors.js'
import { escapeControls, makeOutput, type Output } from './output.js'
import { buildAuditEntry, writeAudit, type AuditEntry } from '../audit/log.js'
import { guardRuntime, noticeRuntime, type WriteMode } from './release-gate.js'
import { findVersionsDir, noMigrationsUnder } from '../dify/dify-code.js'
import {
  classifyFault,
  interruptedError,
  DEFAULT_LOCK_TIMEOUT_S,
  DEFAULT_STATEMENT_TIMEOUT_S,
} from '../runtime/faults.js'

export abstract class DifyCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    'env-file': Flags.string({
      summary: 'Read variables from this dotenv file (wins over the process environment).',
      helpGroup: 'GLOBAL',
    }),
    // one definition for every command (src/runtime/faults.ts, docs/configuration.md "Timeouts and faults")
    'lock-timeout': Flags.integer({
      summary: `Seconds a database statement may wait for a row or table lock before giving up with exit 6 (default ${DEFAULT_LOCK_TIMEOUT_S}, upgrade-db 10; 0 = wait forever).`,
      min: 0,
      helpGroup: 'GLOBAL',
    }),
    // the Dify code at hand, for every command: the release error's hint names it whatever the command
    'dify-root': Flags.string({
      summary:
        'Dify code (DIR, DIR/api or DIR/api/migrations/versions) telling a revision newer than this CLI knows; default /app/api/migrations/versions (DIFY_OPS_DIFY_ROOT).',
      helpGroup: 'GLOBAL',
    }),
    'statement-timeout': Flags.integer({
      summary: `Seconds one database statement may run (default ${DEFAULT_STATEMENT_TIMEOUT_S}, upgrade-db no limit; 0 = no limit).`,
      min: 0,
      helpGroup: 'GLOBAL',
    }),
  }

  /** Default --lock-timeout / --statement-timeout of this command, in seconds (upgrade-db has its own). */
  static dbTimeouts = { lockS: DEFAULT_LOCK_TIMEOUT_S, statementS: DEFAULT_STATEMENT_TIMEOUT_S }

  /**
   * Commands that change anything set this: they take the writing flags (src/cli/flags.ts writeFlags), their
   * Runtime runs the release check before its first connection (release-gate.ts), and they are audited.
   */
  static writes = false
  /** 'window': the supported-release check; 'migrations': db upgrade's planner decides (it creates empty schemas). */
  static releaseCheck: 'window' | 'migrations' = 'window'
  /**
   * A read-only command warns once, at its first database connection, when the database is outside the supported
   * releases (release-gate.ts, noticeRuntime). Off for the commands that report the release themselves.
   */
  static releaseNotice = true

  protected out!: Output
  #rt?: Runtime
  #envFile?: string
  /**
   * What a writing command wrote (or attempted): set it once the write ran. A successful run is audited only when
   * it is set (no-op runs, "nothing to do" and --dry-run are not); a failed run is audited unless it stopped
   * before doing anything (usage, not found, precondition, a "no" at the confirmation).
   */
  protected auditCounts?: Record<string, number>
  /** arguments for the audit line (secrets are redacted anyway) */
  protected auditArgs: Record<string, unknown> = {}
  /** what the audit line names beside the connections the runtime opened: the vector stores a command wrote to */
  protected auditTarget: Pick<AuditEntry['target'], 'vectorStores'> = {}
  /** --dry-run, from the parsed flags (set by parse()) */
  protected dryRun = false
  #mode: WriteMode = { dryRun: false, forceVersion: false }
  /** --dify-root, a base flag (DIFY_OPS_DIFY_ROOT for the configuration) */
  #difyRoot?: string
  #ungate?: () => void
  #exitCode = 0
  protected abort = new AbortController()

  override async init(): Promise<void> {
    await super.init()
    const json = this.argv.includes('--json')
    this.out = makeOutput({ json })
    const i = this.argv.findIndex((a) => a === '--env-file' || a.startsWith('--env-file='))
    if (i >= 0)
      this.#envFile = this.argv[i]!.includes('=') ? this.argv[i]!.split('=').slice(1).join('=') : this.argv[i + 1]
    process.once('SIGINT', this.#onSigint)
    // last resort: an error nobody handled (e.g. an 'error' event of a driver) is reported like any other
    process.once('uncaughtException', this.#onUncaught)
  }

  #onSigint = (): void => {
    this.abort.abort()
    process.once('SIGINT', () => process.exit(ExitCode.interrupted))
    if (!(this.constructor as typeof DifyCommand).gracefulInterrupt) void this.#interrupt()
  }
  #onUncaught = (e: Error): void => void this.#fatal(e)
  /** the process handlers of this command, removed when it ends (several commands can run in one process: tests) */
  #removeProcessHandlers(): void {
    process.off('SIGINT', this.#onSigint)
    process.off('uncaughtException', this.#onUncaught)
  }

  #ended = false
  #forceTimer?: NodeJS.Timeout

  /**
   * SIGINT in a command without its own graceful stop: cancel the database statements in flight on the server
   * (they roll back) and refuse new ones; the command then unwinds through catch() (message, audit line, 130).
   * If it does not within 3 s (a prompt, work that is not a statement), it is ended here the same way.
   */
  async #interrupt(): Promise<void> {
    const rt = this.#rt
    if (rt) await rt.interrupt().catch(() => {})
    if (!this.#ended) this.#forceTimer = setTimeout(() => void this.#fatal(undefined), rt ? 3000 : 0)
  }

  /** End now with the error rendered, the audit line and the connections closed (interrupt or uncaught error). */
  async #fatal(err: unknown): Promise<void> {
    if (this.#ended) return
    this.#ended = true
    const g = this.#rt?.guard
    const e =
      err === undefined
        ? g
          ? interruptedError(g)
          : new InterruptedError('Interrupted (Ctrl-C); nothing was written.')
        : (classifyFault(err, g, this.#rt?.limits) ?? normalise(err as Error, this.abort.signal.aborted))
    this.#renderError(e, err as Error | undefined)
    await this.#audit(e.exitCode).catch(() => {})
    await Promise.race([this.#rt?.close(), new Promise((r) => setTimeout(r, 2000).unref())])
    process.exit(e.exitCode)
  }

  /** --lock-timeout / --statement-timeout as given (already validated by oclif's parse), else undefined */
  #flagSeconds(name: string): number | undefined {
    const i = this.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`))
    if (i < 0) return undefined
    const v = this.argv[i]!.includes('=') ? this.argv[i]!.split('=')[1] : this.argv[i + 1]
    const n = Number(v)
    return Number.isFinite(n) && n >= 0 ? n : undefined
  }

  /** The effective lock and statement timeouts of this run (flags, else the command's defaults), in ms. */
  protected dbLimits(): {
    lockTimeoutMs: number
    statementTimeoutMs: number
    explicit: { lock: boolean; statement: boolean }
  } {
    const d = (this.constructor as typeof DifyCommand).dbTimeouts
    const lock = this.#flagSeconds('lock-timeout')
    const statement = this.#flagSeconds('statement-timeout')
    return {
      lockTimeoutMs: (lock ?? d.lockS) * 1000,
      statementTimeoutMs: (statement ?? d.statementS) * 1000,
      explicit: { lock: lock !== undefined, statement: statement !== undefined },
    }
  }

  /** Extra fields for the --json error object of this run (e.g. a generated password the error must not hide). */
  protected errorDetails?: () => Record<string, unknown> | undefined

  /** Commands that stop cleanly on abort (checkpointing) set this. */
  static gracefulInterrupt = false

  /** The configuration, loaded on first use (flags > --env-file > environment > ./.env). */
  protected config_(overrides?: Record<string, string | undefined>): Config {
    const flags = this.#difyRoot === undefined ? overrides : { DIFY_OPS_DIFY_ROOT: this.#difyRoot, ...overrides }
    return loadConfig({ envFile: this.#envFile, flags })
  }

  /** The runtime; connections open lazily on first use. */
  protected runtime(overrides?: Record<string, string | undefined>): Runtime {
    if (!this.#rt) {
      this.#rt = new Runtime(this.config_(overrides), this.dbLimits())
      this.#rt.createEmbeddedDb = () => !this.dryRun
      this.#rt.onEmbeddedDb = (dir) =>
        this.#output().stderr(`Using the embedded PGlite database in ${dir} (no DB_* variable is set).\n`)
      const ctor = this.constructor as typeof DifyCommand
      if (ctor.writes && ctor.releaseCheck === 'window')
        this.#ungate = guardRuntime(
          this.#rt,
          () => ({ ...this.#mode, difyRoot: this.#rt!.config.difyRoot, operation: this.id?.replace(/:/g, '-') }),
          (t) => this.out.warn(t),
        )
      else if (!ctor.writes && ctor.releaseNotice)
        noticeRuntime(
          this.#rt,
          () => this.#rt!.config.difyRoot,
          (t) => this.out.warn(t),
        )
    }
    return this.#rt
  }

  /** Parse, and remember the writing flags for the release check and the audit. */
  protected override async parse<F extends FlagOutput, B extends FlagOutput, A extends ArgOutput>(
    options?: Input<F, B, A>,
    argv?: string[],
  ): Promise<ParserOutput<F, B, A>> {
    const r = await super.parse(options, argv)
    const f = r.flags as Record<string, unknown>
    this.#mode = { dryRun: f['dry-run'] === true, forceVersion: f['force-version'] === true }
    this.#difyRoot = typeof f['dify-root'] === 'string' ? f['dify-root'] : undefined
    // the code at hand is read only for a revision the CLI does not know; a folder named on this command line that
    // holds no migrations is reported at once (exit 4), whatever the database
    if (this.#difyRoot !== undefined && !findVersionsDir(this.#difyRoot)) throw noMigrationsUnder(this.#difyRoot)
    this.dryRun = this.#mode.dryRun
    return r
  }

  /**
   * The --json result, as oclif writes it without a colour theme (JSON.stringify with 2 spaces, one newline) but
   * without its colorizeJson pass, which re-tokenises the text with a slice per token (quadratic in its length).
   */
  override logJson(json: unknown): void {
    this.out.jsonValue(json, { pretty: true })
  }

  /** Exit with this code after a successful render (e.g. 8 when a check found problems). */
  protected setExitCode(code: number): void {
    this.#exitCode = code
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err
    if (this.#ended) return new Promise(() => {}) // being ended by #fatal (interrupt): it exits
    this.#ended = true
    if (this.#forceTimer) clearTimeout(this.#forceTimer)
    const e = classifyFault(err, this.#rt?.guard, this.#rt?.limits) ?? normalise(err, this.abort.signal.aborted)
    this.#exitCode = e.exitCode
    this.#renderError(e, err)
    if (!stoppedBeforeWriting(e)) await this.#audit(e.exitCode)
    await this.#rt?.close()
    this.exit(e.exitCode)
  }

  /** Output, also for an error raised before init() made it (then --json is read from argv) */
  #output(): Output {
    return this.out ?? makeOutput({ json: this.argv.includes('--json') })
  }

  #renderError(e: DifyOpsError, err: Error | undefined): void {
    const extra = this.errorDetails?.()
    renderError(this.#output(), e, e.details || extra ? { ...e.details, ...extra } : undefined, err)
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    if (!err && this.#ended) return new Promise(() => {}) // being ended by #fatal (interrupt): it exits
    this.#removeProcessHandlers()
    if (!err) {
      this.#ended = true
      if (this.#forceTimer) clearTimeout(this.#forceTimer)
      // Ctrl-C cut a run that then reported failures (e.g. per-tenant ones): the outcome is the interrupt
      // a run that ended on its own after Ctrl-C (queue list --watch) was interrupted all the same
      if (this.abort.signal.aborted && this.#exitCode === 0) this.#exitCode = ExitCode.interrupted
      if (this.#rt?.guard.interrupted && this.#exitCode !== 0 && this.#exitCode !== ExitCode.interrupted) {
        this.#output().stderr(
          'Interrupted (Ctrl-C): the report above shows what was done; run the command again for the rest.\n',
        )
        this.#exitCode = ExitCode.interrupted
      }
      if (this.auditCounts || this.#rt?.guard.interrupted) await this.#audit(this.#exitCode)
      await this.#rt?.close()
      if (this.#exitCode !== 0) process.exitCode = this.#exitCode
    }
    return super.finally(err)
  }

  #audited = false
  async #audit(exitCode: number): Promise<void> {
    const ctor = this.constructor as typeof DifyCommand
    if (!ctor.writes || this.#mode.dryRun || this.#audited || !this.#rt) return
    this.#audited = true
    const rt = this.#rt
    this.#ungate?.() // the audit line itself needs no release check
    const entry = buildAuditEntry({
      command: this.id ?? ctor.name,
      args: this.auditArgs,
      target: {
        ...(rt.opened('db')
          ? {
              database:
                rt.config.db.type === 'pglite'
                  ? `pglite:${rt.config.db.pgliteDir}`
                  : `${rt.config.db.type}://${rt.config.db.host}:${rt.config.db.port}/${rt.config.db.database}`,
            }
          : {}),
        ...(rt.opened('redis')
          ? { redis: `${rt.config.redis.host}:${rt.config.redis.port}/${rt.config.redis.db}` }
          : {}),
        ...(rt.opened('storage') ? { storage: rt.config.storage.location } : {}),
        ...(rt.opened('broker') && rt.config.broker ? { broker: rt.config.broker.display } : {}),
        ...this.auditTarget,
      },
      outcome: exitCode === 0 ? 'ok' : exitCode === ExitCode.partial ? 'partial' : 'failed',
      exitCode,
      counts: this.auditCounts,
      version: this.config.version,
    })
    const res = await writeAudit(rt, entry)
    if (rt.config.auditLog && !res.file) this.out.warn(`Could not append to the audit log ${rt.config.auditLog}.`)
  }
}

/**
 * An error as every command reports it: the ErrorJson object on stdout with --json, else "Error: …" and "Hint: …" on
 * stderr; the stack only with DEBUG=dify*. Also used by the command_not_found hook (not-found.ts).
 */
export function renderError(
  out: Output,
  e: DifyOpsError,
  details: Record<string, unknown> | undefined,
  err: Error | undefined,
): void {
  if (out.json) {
    const body: ErrorJson = {
      error: {
        code: e.code,
        message: e.message,
        ...(e.hint ? { hint: e.hint } : {}),
        exitCode: e.exitCode,
        ...(details ? { details } : {}),
      },
    }
    out.jsonValue(body, { pretty: true })
  } else {
    // control characters from arguments (or a hostile database) are shown escaped, never sent to the terminal
    out.stderr(`Error: ${escapeControls(e.message)}\n${e.hint ? `Hint: ${escapeControls(e.hint)}\n` : ''}`)
  }
  if (/(^|,)dify/.test(process.env.DEBUG ?? '') && err?.stack) out.stderr(err.stack + '\n')
}

/** What every command writes to stdout with --json when it fails (snapshot: test/fixtures/json-schema/_error.json). */
export interface ErrorJson {
  error: { code: ErrorCode; message: string; hint?: string; exitCode: number; details?: Record<string, unknown> }
}

/** oclif's "Parsing --limit \n\t<reason>\nSee more help with --help" as one sentence that keeps the reason. */
export function usageMessage(message: string): string {
  const lines = message
    .replace(/\s+See more help with --help\s*$/, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  const parsing = /^Parsing (--[\w-]+)$/.exec(lines[0] ?? '')
  if (parsing && lines[1]) return `Invalid ${parsing[1]}: ${lines.slice(1).join(' ')}`
  // flag relationships (exclusive, exactlyOne, dependsOn): "The following error(s) occurred:" then one per line
  if (/^The following errors? occurred:$/.test(lines[0] ?? '') && lines[1]) return flagNames(lines.slice(1).join('; '))
  // "Missing 1 required arg:" then "queue  queue name": name the argument as --help shows it
  if (/^Missing \d+ required args?:$/.test(lines[0] ?? '') && lines[1]) {
    const named = lines.slice(1).map((l) => {
      const [name, ...about] = l.split(/\s{2,}/)
      return `${name!.toUpperCase()}${about.length ? ` (${about.join(' ')})` : ''}`
    })
    return `Missing the required argument${named.length > 1 ? 's' : ''} ${named.join(', ')}.`
  }
  return flagNames(lines[0] ?? message)
}

/** oclif's "Missing required flag tenant" → "Missing required flag --tenant" */
function flagNames(message: string): string {
  return message.replace(/Missing required flag ([\w-]+)/g, 'Missing required flag --$1')
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type FlagOutput = { [name: string]: any }
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ArgOutput = { [name: string]: any }

/** Failures that happen before a writing command does anything: not audited. */
function stoppedBeforeWriting(e: DifyOpsError): boolean {
  return (
    e instanceof NotConfirmedError ||
    e.exitCode === ExitCode.usage ||
    e.exitCode === ExitCode.notFound ||
    e.exitCode === ExitCode.config
  )
}

function normalise(err: Error & { exitCode?: number; oclif?: { exit?: number } }, aborted: boolean): DifyOpsError {
  if (isDifyOpsError(err)) return err
  if (aborted) return new InterruptedError('Interrupted.')
  // oclif flag/argument parsing errors are usage errors
  if (
    err instanceof Errors.CLIError ||
    /Unexpected argument|Missing required flag|Nonexistent flag|Expected .* to be one of|Parsing/.test(err.message)
  ) {
    return new UsageError(usageMessage(err.message), { hint: "See --help for the command's flags." })
  }
  const e = new DifyOpsError(`Unexpected error: ${err.message.split('\n')[0]}`, {
    hint: 'Run again with DEBUG=dify* to see the stack trace, and report it if it persists.',
  })
  return e
}

export { Flags }
export { Args } from '@oclif/core'
export type { FlagInput } from '@oclif/core/interfaces'
