import type { Progress, Unit, UnitReport } from './types.js'

/**
 * Progress on stderr: on a terminal one live line per unit (count, rate, ETA) plus the overall position; without a
 * terminal a line per unit at its end and at most one line every 10 s while it runs.
 */
export function stderrProgress(write: (s: string) => void, interactive: boolean): Progress {
  let t0 = 0
  let last = 0
  let head = ''
  return {
    unitStart(u: Unit, index: number, total: number, live: number) {
      t0 = Date.now()
      last = 0
      head = `[${index + 1}/${total}] ${u.kind} ${u.id}`
      if (interactive) write(`\r\x1b[2K${head}: 0/${live}`)
    },
    batch(_u: Unit, done: number, live: number) {
      const now = Date.now()
      const rate = done / Math.max(0.001, (now - t0) / 1000)
      const eta = rate > 0 ? Math.max(0, Math.round((live - done) / rate)) : 0
      const line = `${head}: ${done}/${live} vectors, ${Math.round(rate)}/s, ETA ${eta}s`
      if (interactive) write(`\r\x1b[2K${line}`)
      else if (now - last > 10_000) {
        last = now
        write(line + '\n')
      }
    },
    unitEnd(r: UnitReport) {
      const line = `${head || `${r.kind} ${r.id}`}: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}; ${r.fromSource} from source, ${r.fromCache} from cache, ${r.missing} missing, ${r.orphans} orphans`
      write(`${interactive ? '\r\x1b[2K' : ''}${line}\n`)
      head = ''
    },
  }
}
