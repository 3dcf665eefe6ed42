// Cold start of `dify` (the cost every `docker exec … dify …` pays), next to bare `node -e 0` on the same machine.
// Run: npm run build && npm run bench -- cold-start
import { fileURLToPath } from 'node:url'
import { medianMs, report } from './lib.js'

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const node = process.execPath
const bare = medianMs(node, ['-e', '0'])
const version = medianMs(node, [bin, '--version'])
const help = medianMs(node, [bin, '--help'])
const configShow = medianMs(node, [bin, 'config', 'show', '--json'], { env: { PATH: process.env.PATH, DB_HOST: 'db' } })
report(`cold start (median of 15, ${process.version})`, [
  ['node -e 0', `${bare.toFixed(0)} ms`],
  ['dify --version', `${version.toFixed(0)} ms  (${(version / bare).toFixed(2)}× node; target < 1.5×)`],
  ['dify --help (oclif)', `${help.toFixed(0)} ms  (${(help / bare).toFixed(2)}×)`],
  ['dify config show --json (oclif + config)', `${configShow.toFixed(0)} ms  (${(configShow / bare).toFixed(2)}×)`],
])
