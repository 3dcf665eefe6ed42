import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export interface Timing {
  /** median wall-clock milliseconds */
  wallMs: number
  /** median user+system CPU milliseconds (via /usr/bin/time; robust when the machine is busy) */
  cpuMs: number | null
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null

/** Median wall and CPU time of running a command `runs` times after `warmup` runs. */
export function measure(
  cmd: string,
  args: string[],
  opts: { runs?: number; warmup?: number; env?: NodeJS.ProcessEnv; input?: string; allowFail?: boolean } = {},
): Timing {
  const runs = opts.runs ?? 15
  const warmup = opts.warmup ?? 3
  const walls: number[] = []
  const cpus: number[] = []
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = process.hrtime.bigint()
    const r = TIME
      ? spawnSync(TIME, ['-f', '%U %S', cmd, ...args], {
          env: opts.env ?? process.env,
          input: opts.input,
          stdio: ['pipe', 'ignore', 'pipe'],
        })
      : spawnSync(cmd, args, { env: opts.env ?? process.env, input: opts.input, stdio: ['pipe', 'ignore', 'pipe'] })
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
    if (i < warmup) continue
    walls.push(ms)
    if (TIME) {
      const last = r.stderr.toString().trim().split('\n').pop() ?? ''
      const [u, s] = last.split(' ').map(Number)
      if (Number.isFinite(u) && Number.isFinite(s)) cpus.push((u! + s!) * 1000)
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  return { wallMs: med(walls), cpuMs: cpus.length ? med(cpus) : null }
}

export function fmt(t: Timing, base?: Timing): string {
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`
  const wall = `${t.wallMs.toFixed(0)} ms wall${base ? ` (${ratio(t.wallMs, base.wallMs)})` : ''}`
  const cpu =
    t.cpuMs !== null ? `, ${t.cpuMs.toFixed(0)} ms cpu${base?.cpuMs ? ` (${ratio(t.cpuMs, base.cpuMs)})` : ''}` : ''
  return wall + cpu
}

export function report(title: string, rows: Array<[string, string]>): void {
  console.log(`\n${title}`)
  for (const [k, v] of rows) console.log(`  ${k.padEnd(44)} ${v}`)
}
