// Cold start of `dify` (the cost every `docker exec … dify …` pays), next to bare `node -e 0` on the same machine.
// Run: npm run build && npm run bench -- cold-start
import { fileURLToPath } from 'node:url'
import { fmt, measure, report } from './lib.js'

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const node = process.execPath
const bare = measure(node, ['-e', '0'])
const version = measure(node, [bin, '--version'])
const help = measure(node, [bin, '--help'])
const configShow = measure(node, [bin, 'config', 'show', '--json'], { env: { PATH: process.env.PATH, DB_HOST: 'db' } })
report(`cold start (median of 15, ${process.version}; target: dify --version < 1.5× node)`, [
  ['node -e 0', fmt(bare)],
  ['dify --version', fmt(version, bare)],
  ['dify --help (oclif)', fmt(help, bare)],
  ['dify config show --json (oclif + config)', fmt(configShow, bare)],
])
