import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('docs/commands.md', () => {
  it('matches the commands and flags of the built CLI (regenerate with npm run docs:commands)', () => {
    const generated = execFileSync('node', ['scripts/gen-commands-doc.mjs'], { cwd: root, encoding: 'utf8' })
    expect(readFileSync(`${root}/docs/commands.md`, 'utf8')).toBe(generated)
  })
})
