/** The command_not_found hook's message and suggestion (src/cli/not-found.ts), without oclif. */
import { describe, expect, it } from 'vitest'
import { nearest, notFoundError } from '../../../src/cli/not-found.js'

const IDS = [
  'reset-password',
  'reset-email',
  'account:show',
  'account:list',
  'db:status',
  'db:history',
  'db:lock:clear',
]
const TOPICS = ['account', 'db', 'db:lock']

describe('unknown command', () => {
  it('suggests the command one typo away, and names the topic help', () => {
    const e = notFoundError('account:shwo', IDS, TOPICS)
    expect(e.exitCode).toBe(2)
    expect(e.code).toBe('USAGE')
    expect(e.message).toBe('Unknown command: dify account shwo.')
    expect(e.hint).toBe('Did you mean dify account show? dify account --help lists the commands.')
  })
  it('names the innermost topic the words give', () => {
    expect(notFoundError('db:lock:clr', IDS, TOPICS).hint).toMatch(/dify db lock clear\? dify db lock --help/)
    expect(notFoundError('db:frobnicate', IDS, TOPICS).hint).toBe('dify db --help lists the commands.')
  })
  it('suggests nothing for a word far from every command', () => {
    const e = notFoundError('frobnicate', IDS, TOPICS)
    expect(e.message).toBe('Unknown command: dify frobnicate.')
    expect(e.hint).toBe('dify --help lists the commands.')
  })
  it('says a flag came before the command', () => {
    const e = notFoundError('--env-file', IDS, TOPICS)
    expect(e.message).toBe('Expected a command name before --env-file.')
    expect(e.hint).toMatch(/Name the command first/)
  })
  it('nearest: typos, swapped letters, a unique prefix; nothing when ambiguous or far', () => {
    expect(nearest('reset-pasword', IDS)).toBe('reset-password')
    expect(nearest('rseet-password', IDS)).toBe('reset-password')
    expect(nearest('db:hist', IDS)).toBe('db:history')
    expect(nearest('reset', IDS)).toBeUndefined()
    expect(nearest('xyz', IDS)).toBeUndefined()
  })
})
