/**
 * The one error hierarchy of dify-ops. Domain code throws these; the CLI layer maps
 * them to one sentence, a hint and an exit code (see README "Exit codes").
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  config: 4,
  connect: 5,
  busy: 6,
  partial: 7,
  problems: 8,
  interrupted: 130,
} as const

export type ErrorCode =
  | 'FAILED'
  | 'USAGE'
  | 'NOT_FOUND'
  | 'CONFIG'
  | 'CONNECT'
  | 'BUSY'
  | 'PARTIAL'
  | 'PROBLEMS'
  | 'INTERRUPTED'
  | 'NOT_CONFIRMED'

export class DifyOpsError extends Error {
  readonly code: ErrorCode = 'FAILED'
  readonly exitCode: number = ExitCode.failed
  /** What the operator can do about it; one short sentence. */
  readonly hint?: string
  /** Structured details that go into --json output (never secrets). */
  readonly details?: Record<string, unknown>

  constructor(message: string, opts: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message)
    this.name = new.target.name
    this.hint = opts.hint
    this.details = opts.details
    if (opts.cause !== undefined) (this as { cause?: unknown }).cause = opts.cause
  }
}

export class UsageError extends DifyOpsError {
  override readonly code = 'USAGE' as const
  override readonly exitCode = ExitCode.usage
}
export class NotFoundError extends DifyOpsError {
  override readonly code = 'NOT_FOUND' as const
  override readonly exitCode = ExitCode.notFound
}
export class ConfigError extends DifyOpsError {
  override readonly code = 'CONFIG' as const
  override readonly exitCode = ExitCode.config
}
export class ConnectError extends DifyOpsError {
  override readonly code = 'CONNECT' as const
  override readonly exitCode = ExitCode.connect
}
export class BusyError extends DifyOpsError {
  override readonly code = 'BUSY' as const
  override readonly exitCode = ExitCode.busy
}
/** Some items of a write succeeded, some failed; `details.report` lists them. */
export class PartialError extends DifyOpsError {
  override readonly code = 'PARTIAL' as const
  override readonly exitCode = ExitCode.partial
}
/** A check ran and found problems (doctor, encryption check, vdb check). */
export class ProblemsFoundError extends DifyOpsError {
  override readonly code = 'PROBLEMS' as const
  override readonly exitCode = ExitCode.problems
}
export class InterruptedError extends DifyOpsError {
  override readonly code = 'INTERRUPTED' as const
  override readonly exitCode = ExitCode.interrupted
}

/** The operator answered "no" at a confirmation: nothing was changed (exit 1, README "Exit codes"). */
export class NotConfirmedError extends DifyOpsError {
  override readonly code = 'NOT_CONFIRMED' as const
  override readonly exitCode = ExitCode.failed
}

export function isDifyOpsError(e: unknown): e is DifyOpsError {
  return e instanceof DifyOpsError
}
