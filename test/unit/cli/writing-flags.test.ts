/**
 * From the sources (no build): every command that writes (static writes = true) takes the shared writing flags, so
 * the base command's release check and --dry-run apply to it; and no read-only command pretends to have them.
 */
import { describe, expect, it } from 'vitest'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { writeFlags } from '../../../src/cli/flags.js'

const DIR = fileURLToPath(new URL('../../../commands', import.meta.url))
const files = (d: string): string[] =>
  readdirSync(d).flatMap((n) =>
    statSync(join(d, n)).isDirectory() ? files(join(d, n)) : n.endsWith('.ts') ? [join(d, n)] : [],
  )

describe('writing flags', () => {
  it.each(files(DIR).map((f) => [relative(DIR, f), f]))('%s', async (_name, file) => {
    const cmd = (await import(pathToFileURL(file).href)).default as {
      writes?: boolean
      releaseCheck?: string
      flags?: Record<string, unknown>
    }
    const flags = cmd.flags ?? {}
    if (!cmd.writes) {
      expect(flags['dry-run']).toBeUndefined()
      expect(flags['force-version']).toBeUndefined()
      return
    }
    expect(flags['dry-run']).toBe(writeFlags['dry-run'])
    if (cmd.releaseCheck === 'migrations') expect(flags['force-version']).toBeUndefined()
    else expect(flags['force-version']).toBe(writeFlags['force-version'])
  })
})
