// Where a generator finds its source in the reference data set (Dify's oracles, the reference facts, the vendors'
// API specifications), which is kept beside the repository, outside it (CONTRIBUTING.md, "The reference data set").
// Nothing here has a default: a generator reads its own flag (--oracles DIR, --specs DIR, --chain FILE), else the
// reference folder named by the environment variable DIFY_OPS_REFERENCE; the npm scripts (gen:*) set that variable to
// the usual location when it is unset. Tests never come here.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'

export const REFERENCE_ENV = 'DIFY_OPS_REFERENCE'

/**
 * The path a generator reads: the value of its one command-line option `--<option> <ARG>` (relative to the working
 * directory), else `under` inside the folder named by DIFY_OPS_REFERENCE. Without either, or when the path does not
 * exist, it prints one sentence naming the option and exits 2. `script` is the npm script's name (gen:…), `what` names
 * the source in that sentence.
 * @param {{ script: string, what: string, option: string, arg: string, under: string }} source what to read and how to name it
 * @returns {string} the absolute path
 */
export function referenceSource({ script, what, option, arg, under }) {
  const given = parseArgs({ options: { [option]: { type: 'string' } } }).values[option]
  const flag = `--${option} ${arg}`
  const folder = process.env[REFERENCE_ENV]
  const hint = `pass ${flag} or set ${REFERENCE_ENV} to the reference data set's folder (\`npm run ${script}\` sets it to the usual one)`
  let path
  if (given) path = resolve(given)
  else if (folder) path = resolve(folder, under)
  else fail(`${script}: where to read ${what} is not given: ${hint}.`)
  if (!existsSync(path)) fail(`${script}: ${path} does not exist (${what}): ${hint}.`)
  return path
}

function fail(message) {
  process.stderr.write(message + '\n')
  process.exit(2)
}
