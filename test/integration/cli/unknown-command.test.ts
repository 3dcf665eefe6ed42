/**
 * An unknown command through the built CLI (oclif's command_not_found hook, src/cli/not-found.ts): exit 2, one
 * sentence and a hint naming the nearest command, never oclif's own "›   Error: command … not found"; with --json the
 * USAGE error object on stdout. No service is needed: nothing connects.
 */
import { describe, expect, it } from 'vitest'
import { runCli } from '../../support/cli.js'
import { validateJson } from '../../support/json-schema.js'

describe('unknown command', () => {
  it('a typo: exit 2, the nearest command suggested, nothing on stdout', async () => {
    const r = await runCli(['reset-pasword', '--email', 'a@example.com'])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      'Error: Unknown command: dify reset-pasword.\nHint: Did you mean dify reset-password? dify --help lists the commands.\n',
    )
  })
  it('an unknown word under a topic names the topic help', async () => {
    const r = await runCli(['account', 'shwo'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'Error: Unknown command: dify account shwo.\nHint: Did you mean dify account show? dify account --help lists the commands.\n',
    )
  })
  it('--json: the USAGE error object on stdout, valid against its schema', async () => {
    const r = await runCli(['frobnicate', '--json'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('')
    expect(r.json).toEqual({
      error: {
        code: 'USAGE',
        message: 'Unknown command: dify frobnicate.',
        hint: 'dify --help lists the commands.',
        exitCode: 2,
      },
    })
    expect(validateJson('_error.json', r.json)).toEqual([])
  })
  it('a flag before any command', async () => {
    const r = await runCli(['--bogus'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Error: Expected a command name before --bogus\.\nHint: Name the command first/)
    expect(r.stderr).not.toMatch(/›|at .*\.js:\d+/)
  })

  it('dify help [COMMAND] shows what dify [COMMAND] --help shows', async () => {
    for (const words of [[], ['reset-password'], ['account'], ['db', 'lock']]) {
      const viaWord = await runCli(['help', ...words])
      const viaFlag = await runCli([...words, '--help'])
      expect(viaWord.code, words.join(' ')).toBe(0)
      expect(viaWord.stdout, words.join(' ')).toBe(viaFlag.stdout)
      expect(viaWord.stdout).toMatch(/USAGE/)
    }
    const typo = await runCli(['help', 'acount', 'show'])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toMatch(/Did you mean dify account show\?/)
  })
})

describe('version', () => {
  it('--version --json (and version --json): the documented shape', async () => {
    for (const args of [
      ['--version', '--json'],
      ['version', '--json'],
      ['--json', '-v'],
    ]) {
      const r = await runCli(args)
      expect(r.code, args.join(' ')).toBe(0)
      expect(validateJson('_version.json', r.json), args.join(' ')).toEqual([])
      expect(r.json).toMatchObject({ node: process.version, dify: { to: '1.15.0', toHead: 'd9e8f7a6b5c4' } })
    }
    const text = await runCli(['version'])
    expect(text.stdout).toMatch(/^dify-ops\/\S+ \S+ node-v[\d.]+ \(Dify 1\.0\.0 – 1\.15\.0, /)
  })
})
