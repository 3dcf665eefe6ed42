#!/usr/bin/env -S node --
// Development entry: runs the TypeScript sources (commands/, src/) with tsx, no build needed. oclif's own tsx
// registration fails under a symlinked node_modules and would fall back to dist/, so we register tsx here and point
// oclif at ./commands directly (no manifest: every command is read from its source).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const { register } = await import('tsx/esm/api')
register()
const { execute, settings } = await import('@oclif/core')
settings.enableAutoTranspile = false // tsx is registered above; no ts-node lookup, no fallback to dist/
const root = fileURLToPath(new URL('..', import.meta.url))
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
pjson.oclif = { ...pjson.oclif, commands: './commands', hooks: { command_not_found: './src/cli/not-found.ts' } }
await execute({ development: true, loadOptions: { root, pjson } })
