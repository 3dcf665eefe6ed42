import { spawnSync } from 'node:child_process'

/** Median wall time (ms) of running a command `runs` times after `warmup` runs. */
export function medianMs(cmd: string, args: string[], opts: { runs?: number; warmup?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): number {
  const runs = opts.runs ?? 15
  const times: number[] = []
  for (let i = 0; i < (opts.warmup ?? 3) + runs; i++) {
    const t0 = process.hrtime.bigint()
    const r = spawnSync(cmd, args, { env: opts.env ?? process.env, input: opts.input, stdio: ['pipe', 'ignore', 'ignore'] })
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (r.status !== 0 && r.status !== null && !(opts as { allowFail?: boolean }).allowFail) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`)
    if (i >= (opts.warmup ?? 3)) times.push(ms)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]!
}

export function report(title: string, rows: Array<[string, string]>): void {
  console.log(`\n${title}`)
  for (const [k, v] of rows) console.log(`  ${k.padEnd(44)} ${v}`)
}
