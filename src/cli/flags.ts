/**
 * The flags every command shares, declared once. Writing commands spread `writeFlags` (and `yesFlag` when they
 * confirm); the base command (command.ts) reads `--dry-run` and `--force-version` after parsing and runs the release
 * check itself (release-gate.ts), so no writing command can skip it. Durations and seconds have one parser each.
 */
import { Args, Errors, Flags } from '@oclif/core'
import { parseDuration } from './output.js'

/** `--dry-run` and `--force-version`: every command with `static writes = true` has both (a test checks it). */
export const writeFlags = {
  'dry-run': Flags.boolean({ summary: 'Show what would change; write nothing anywhere.' }),
  'force-version': Flags.boolean({
    summary: 'Write even when the database is outside the supported Dify releases (otherwise exit 4).',
  }),
}

/** `--yes`: answer a confirmation (without it and without a terminal: exit 2 naming --yes; answering "no": exit 1). */
export const yesFlag = {
  yes: Flags.boolean({ char: 'y', summary: 'Do not ask for confirmation.' }),
}

/** The largest number of seconds any duration flag takes (100 years): beyond it dates stop making sense. */
export const MAX_SECONDS = 100 * 365 * 86_400

/**
 * Parse a duration ("90s", "15m", "2h", "7d", "500ms", a bare number = seconds) to seconds, with a reason on
 * failure. The one parser behind `durationFlag` and `secondsFlag`.
 */
export function parseSeconds(text: string, opts: { min?: number; max?: number; units?: boolean } = {}): number {
  const n = opts.units === false ? (/^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : null) : parseDuration(text)
  const kind =
    opts.units === false
      ? 'a number of seconds such as 1 or 0.5'
      : 'a duration such as 90s, 15m, 2h or 7d (a bare number is seconds)'
  if (n === null || !Number.isFinite(n)) throw new Error(`"${text}" is not ${kind}.`)
  const min = opts.min ?? 0
  const max = opts.max ?? MAX_SECONDS
  if (n < min) throw new Error(`${text} is less than the minimum of ${min} s.`)
  if (n > max) throw new Error(`${text} is more than the maximum of ${max} s.`)
  return n
}

/** A duration flag (90s, 15m, 2h, 7d); the value is in seconds. */
export const durationFlag = Flags.custom<number, { min?: number; max?: number }>({
  parse: async (input, _ctx, opts) => parseSeconds(input, { min: opts.min, max: opts.max }),
  helpValue: '<duration>',
})

/** A plain number of seconds (0.5, 1, 30); the value is in seconds. */
export const secondsFlag = Flags.custom<number, { min?: number; max?: number }>({
  parse: async (input, _ctx, opts) => parseSeconds(input, { min: opts.min, max: opts.max, units: false }),
  helpValue: '<seconds>',
})

/**
 * A page or count flag: an integer in [min, max] whose error names the bounds (Flags.integer accepts
 * 99999999999999999999 and turns it into an unsafe number).
 */
export const boundedIntFlag = Flags.custom<number, { min: number; max: number }>({
  parse: async (input, _ctx, opts) => {
    if (!/^\s*-?\d+\s*$/.test(input)) throw new Error(`"${input}" is not a whole number.`)
    const n = Number(input)
    if (!Number.isSafeInteger(n) || n < opts.min || n > opts.max) {
      throw new Error(`${input.trim()} is outside the allowed range ${opts.min} to ${opts.max}.`)
    }
    return n
  },
})

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function parseUuid(input: string): string {
  if (!UUID.test(input.trim()))
    throw new Errors.CLIError(
      `"${input}" is not an id (Dify's ids are UUIDs such as 3f2a9c1e-0b7d-4c55-9a1e-2f6b8d0c4e11).`,
    )
  return input.trim().toLowerCase()
}

/** A Dify id (UUID, any letter case; given to the database in lower case, as Dify writes ids). */
export const uuidFlag = Flags.custom<string>({ parse: async (input) => parseUuid(input), helpValue: '<id>' })
/** The same for a positional argument. */
export const uuidArg = Args.custom<string>({ parse: async (input) => parseUuid(input) })
