/**
 * Usage errors of every command, in-process from the sources (no build, no service): table-driven over the command
 * files, each command gets an unknown flag, each missing required argument or flag, and a bad value for each flag
 * that validates its value (a choice list, or a parser that rejects the text). Each is exit 2 with one sentence
 * naming what is wrong plus a hint, never a stack trace; with --json it is the USAGE error shape.
 */
import { describe, expect, it } from 'vitest'
import { readdirSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { runInProcess } from '../../support/in-process.js'
import { validateJson } from '../../support/json-schema.js'

const DIR = fileURLToPath(new URL('../../../commands', import.meta.url))
const files = (d: string): string[] =>
  readdirSync(d)
    .sort()
    .flatMap((n) => (statSync(join(d, n)).isDirectory() ? files(join(d, n)) : n.endsWith('.ts') ? [join(d, n)] : []))
/** nothing listens there: a case that got past parsing would fail with exit 5, not 2 */
const NO_SERVICE = {
  DB_HOST: '127.0.0.1',
  DB_PORT: '1',
  REDIS_HOST: '127.0.0.1',
  REDIS_PORT: '1',
  CELERY_BROKER_URL: 'redis://127.0.0.1:1/1',
}
/** a value every argument and required flag accepts (ids are UUIDs; names and emails are any text) */
const ANY = '6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f'
const BAD = 'not-a-valid-value'

type Cmd = Parameters<typeof runInProcess>[0]
interface FlagDef {
  type: 'boolean' | 'option'
  required?: boolean
  options?: readonly string[]
  exactlyOne?: string[]
  parse?: (i: string, ctx: unknown, f: unknown) => Promise<unknown>
}
interface ArgDef {
  required?: boolean
  parse?: (i: string, ctx: unknown, a: unknown) => Promise<unknown>
}
type Row = [label: string, cmd: Cmd, argv: string[], names: RegExp]

const commands = await Promise.all(
  files(DIR).map(async (f) => {
    const cmd = (await import(pathToFileURL(f).href)).default as Cmd & {
      flags?: Record<string, FlagDef>
      args?: Record<string, ArgDef>
    }
    return {
      id: relative(DIR, f)
        .replace(/\.ts$/, '')
        .split(sep)
        .filter((p) => p !== 'index')
        .join(' '),
      cmd,
    }
  }),
)

/** what a command needs to get past its own required inputs: required args, required flags, one of each exactlyOne */
function minimal(c: (typeof commands)[number]['cmd'], except?: string): string[] {
  return [
    ...Object.entries(c.args ?? {})
      .filter(([n, a]) => a.required && n !== except)
      .map(() => ANY),
    ...minimalFlags(c, except),
  ]
}

function minimalFlags(c: (typeof commands)[number]['cmd'], except?: string): string[] {
  const chosen = new Set<string>()
  for (const [n, f] of Object.entries(c.flags ?? {})) {
    if (n === except) continue
    if (f.required) chosen.add(n)
    if (f.exactlyOne && !f.exactlyOne.some((o) => chosen.has(o)) && !f.exactlyOne.includes(except ?? ''))
      chosen.add(f.exactlyOne[0]!)
  }
  return [...chosen].flatMap((n) => [`--${n}`, ANY])
}

async function rejects(f: FlagDef | ArgDef, value: string): Promise<boolean> {
  if ('type' in f && f.type !== 'option') return false
  if ('options' in f && f.options) return !f.options.includes(value)
  if (!f.parse) return false
  try {
    await f.parse(value, {}, f)
    return false
  } catch {
    return true
  }
}

const rows: Row[] = []
for (const { id, cmd } of commands) {
  rows.push([`${id}: an unknown flag`, cmd, [...minimal(cmd), '--no-such-flag'], /Nonexistent flag: --no-such-flag/])
  const allArgs = Object.keys(cmd.args ?? {}).map(() => ANY)
  rows.push([
    `${id}: one argument too many`,
    cmd,
    [...allArgs, 'one-too-many', ...minimalFlags(cmd)],
    /Unexpected argument: one-too-many/,
  ])
  for (const [name, a] of Object.entries(cmd.args ?? {})) {
    if (a.required)
      rows.push([
        `${id}: without the argument ${name.toUpperCase()}`,
        cmd,
        minimal(cmd, name),
        new RegExp(`Missing the required argument ${name.toUpperCase()}\\b`),
      ])
    if (await rejects(a, BAD))
      rows.push([`${id}: the argument ${name.toUpperCase()} ${BAD}`, cmd, [BAD], new RegExp(BAD)])
  }
  for (const [name, f] of Object.entries(cmd.flags ?? {})) {
    if (f.required)
      rows.push([`${id}: without --${name}`, cmd, minimal(cmd, name), new RegExp(`Missing required flag --${name}\\b`)])
    if (await rejects(f, BAD))
      rows.push([`${id}: --${name} ${BAD}`, cmd, [...minimal(cmd, name), `--${name}`, BAD], new RegExp(`--${name}\\b`)])
  }
}

// inputs oclif cannot declare (an argument or a flag): checked before anything connects
const byId = (id: string) => commands.find((c) => c.id === id)!.cmd
const ACCOUNT = /Missing --email \(or --account-id\)/
rows.push(
  ['account ban: neither EMAIL nor --account-id', byId('account ban'), [], ACCOUNT],
  ['account unban: neither EMAIL nor --account-id', byId('account unban'), ['--dry-run'], ACCOUNT],
  ['reset-email: neither --email nor --account-id', byId('reset-email'), ['--new-email', 'new@example.com'], ACCOUNT],
  ['reset-password: neither --email nor --account-id', byId('reset-password'), ['--generate'], /Missing --email/],
)

describe('usage errors are exit 2 with one sentence naming the problem (in-process, no build)', () => {
  it('covers every command, with bad values for at least the validated flags', () => {
    expect(new Set(rows.map((r) => r[1])).size).toBe(commands.length)
    expect(rows.filter((r) => r[0].includes(BAD)).length).toBeGreaterThan(20)
  })

  it.each(rows)('%s', async (_label, cmd, argv, names) => {
    const human = await runInProcess(cmd, argv, { env: NO_SERVICE })
    expect(human.code, human.stderr).toBe(2)
    // one line of error, one line of hint: no stack trace, no oclif help dump
    expect(human.stderr).toMatch(/^Error: [^\n]+\nHint: [^\n]+\n$/)
    expect(human.stderr).toMatch(names)
    expect(human.stderr).not.toMatch(/Unexpected error|See more help/)
    expect(human.stdout).toBe('')

    const json = await runInProcess(cmd, [...argv, '--json'], { env: NO_SERVICE })
    expect(json.code).toBe(2)
    expect(json.json?.error).toMatchObject({ code: 'USAGE', exitCode: 2 })
    expect(json.json.error.message).toMatch(names)
    expect(validateJson('_error.json', json.json)).toEqual([])
  })
})
