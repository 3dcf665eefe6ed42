/**
 * oclif's command_not_found hook (package.json oclif.hooks): `dify foo`, `dify account foo` or `dify --bogus` is a
 * usage error like any other (exit 2, one sentence and a hint, the ErrorJson object with --json), with the nearest
 * command suggested. Without it oclif printed "›   Error: command foo not found" and ignored --json. `dify help
 * [COMMAND]` shows the help that `dify [COMMAND] --help` shows.
 */
import { loadHelpClass, type Hook } from '@oclif/core'
import { UsageError } from '../core/errors.js'
import { makeOutput } from './output.js'
import { renderError } from './command.js'

/** The usage error for an unknown command line: `id` in oclif's form (topics joined by ':'), `ids` every command's. */
export function notFoundError(id: string, ids: readonly string[], topics: readonly string[]): UsageError {
  const shown = id.replaceAll(':', ' ')
  if (id.startsWith('-')) {
    // an unknown flag, or a command's flag (--env-file, --json) put before the command's name
    return new UsageError(`Expected a command name before ${shown}.`, {
      hint: 'Name the command first: dify <command> [flags] (dify --help lists the commands).',
    })
  }
  const near = nearest(id, ids)
  // the words before the unknown one name a topic: its own help lists what it has
  const parts = id.split(':')
  const topic = [...parts.keys()]
    .map((n) => parts.slice(0, parts.length - 1 - n).join(':'))
    .find((t) => t && topics.includes(t))
  const help = topic ? `dify ${topic.replaceAll(':', ' ')} --help` : 'dify --help'
  return new UsageError(`Unknown command: dify ${shown}.`, {
    hint: near
      ? `Did you mean dify ${near.replaceAll(':', ' ')}? ${help} lists the commands.`
      : `${help} lists the commands.`,
  })
}

/** The command id nearest to `id` by edit distance, when it is near enough to be a typo (or a prefix of one id). */
export function nearest(id: string, ids: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const c of ids) {
    const d = distance(id, c)
    if (d < bestD) [best, bestD] = [c, d]
  }
  if (best !== undefined && bestD <= Math.max(2, Math.floor(id.length / 4))) return best
  const starts = ids.filter((c) => c.startsWith(id))
  return starts.length === 1 ? starts[0] : undefined
}

/** Damerau–Levenshtein distance (optimal string alignment): a swapped pair of letters is one edit. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

const hook: Hook<'command_not_found'> = async function (opts) {
  const argv = opts.argv ?? []
  const json = opts.id === '--json' || argv.includes('--json')
  const ids = opts.config.commandIDs.filter((c) => !opts.config.findCommand(c)?.hidden)
  const topics = opts.config.topics.map((t) => t.name)
  // `dify help [COMMAND]`, as `dify [COMMAND] --help` (there is no help command: oclif's help plugin is not used)
  const words = opts.id.split(':')
  const subject =
    words[0] === 'help' ? [...words.slice(1), ...argv.filter((a) => !a.startsWith('-'))].join(':') : undefined
  if (subject !== undefined && (!subject || opts.config.findCommand(subject) || topics.includes(subject))) {
    const Help = await loadHelpClass(opts.config)
    await new Help(opts.config, opts.config.pjson.oclif.helpOptions).showHelp(subject ? subject.split(':') : [])
    return
  }
  const e = notFoundError(subject || opts.id, ids, topics)
  renderError(makeOutput({ json }), e, undefined, undefined)
  process.exitCode = e.exitCode
}
export default hook
