/**
 * Phase timings of upgrade-db on stderr, for profiling (`DEBUG=dify:timing`, or `DEBUG=dify*`): milliseconds since
 * the process started and the process's CPU time so far (user + system), so the gap before the first line is
 * start-up (Node, oclif, config).
 */
const on = /(^|,)dify(\*|:timing)/.test(process.env.DEBUG ?? '')

export function mark(what: string): void {
  if (!on) return
  const cpu = process.cpuUsage()
  const cpuMs = (cpu.user + cpu.system) / 1000
  process.stderr.write(`[dify:timing] ${performance.now().toFixed(1)} ms (CPU ${cpuMs.toFixed(1)} ms) ${what}\n`)
}

if (on) process.once('exit', () => mark('exit'))
