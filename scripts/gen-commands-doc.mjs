// Generates docs/commands.md from oclif.manifest.json (run `npm run build` first): npm run docs:commands
// A test fails when a command's flags change and this reference was not regenerated.
import { readFileSync } from 'node:fs'

const manifest = JSON.parse(readFileSync(new URL('../oclif.manifest.json', import.meta.url), 'utf8'))
const cmds = Object.values(manifest.commands).sort((a, b) => a.id.localeCompare(b.id))
const out = [
  '# Command reference',
  '',
  'Generated from the oclif manifest by `npm run docs:commands`; do not edit by hand.',
  '',
]
out.push('| command | summary |', '|---|---|')
for (const c of cmds)
  out.push(`| [\`dify ${c.id.replace(/:/g, ' ')}\`](#${anchor(c.id)}) | ${(c.summary ?? '').replace(/\|/g, '\\|')} |`)
out.push('')
for (const c of cmds) {
  out.push(`## dify ${c.id.replace(/:/g, ' ')}`, '')
  if (c.summary) out.push(c.summary, '')
  if (c.description) out.push(c.description, '')
  if (c.aliases?.length) out.push(`Aliases: ${c.aliases.map((a) => `\`dify ${a.replace(/:/g, ' ')}\``).join(', ')}`, '')
  // the --json result's JSON Schema snapshot (npm run gen:json-schemas; errors: _error.json)
  out.push(
    `\`--json\` shape: [${c.id.replace(/:/g, '-')}.json](../test/fixtures/json-schema/${c.id.replace(/:/g, '-')}.json) (errors: [_error.json](../test/fixtures/json-schema/_error.json))`,
    '',
  )
  const args = Object.values(c.args ?? {})
  const flags = Object.values(c.flags ?? {})
    .filter((f) => !f.hidden)
    .sort((a, b) => a.name.localeCompare(b.name))
  const usage = [
    `dify ${c.id.replace(/:/g, ' ')}`,
    ...args.map((a) => (a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}]`)),
  ]
  out.push('```', usage.join(' ') + (flags.length ? ' [FLAGS]' : ''), '```', '')
  if (args.length) {
    out.push('| argument | description |', '|---|---|')
    for (const a of args)
      out.push(
        `| \`${a.name.toUpperCase()}\`${a.required ? ' (required)' : ''} | ${(a.description ?? '').replace(/\|/g, '\\|')} |`,
      )
    out.push('')
  }
  if (flags.length) {
    out.push('| flag | description |', '|---|---|')
    for (const f of flags) {
      const name = `\`--${f.name}\`${f.char ? ` / \`-${f.char}\`` : ''}${f.type === 'option' ? ' VALUE' : ''}`
      const extra = [
        f.required ? 'required' : '',
        f.multiple ? 'repeatable' : '',
        f.options ? `one of ${f.options.join(', ')}` : '',
        f.default !== undefined && f.type === 'option' ? `default ${f.default}` : '',
      ]
        .filter(Boolean)
        .join('; ')
      out.push(
        `| ${name} | ${(f.summary ?? f.description ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ')}${extra ? ` (${extra})` : ''} |`,
      )
    }
    out.push('')
  }
  if (c.examples?.length) {
    out.push('Examples:', '', '```')
    for (const e of c.examples)
      out.push(String(typeof e === 'string' ? e : e.command).replace(/<%= config.bin %>/g, 'dify'))
    out.push('```', '')
  }
}
function anchor(id) {
  return `dify-${id.replace(/:/g, '-')}`.toLowerCase().replace(/[^a-z0-9-]/g, '')
}
process.stdout.write(out.join('\n'))
