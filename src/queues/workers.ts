/** `dify queue workers`: live workers through one pidbox broadcast of read-only inspect methods. */
import type { Broker } from './broker.js'
import { broadcast } from './pidbox.js'
import { redactKwargs } from './message.js'

export interface WorkerTask {
  id: string | null
  name: string | null
  /** seconds since it started (active) */
  runtimeSeconds: number | null
  args: unknown
  kwargs: unknown
  eta?: string | null
}

export interface WorkerInfo {
  node: string
  pid: number | null
  poolSize: number | null
  pool: string | null
  uptimeSeconds: number | null
  processed: Record<string, number>
  queues: string[]
  active: WorkerTask[]
  reserved: WorkerTask[]
  scheduled: WorkerTask[]
  /** raw stats reply with secrets removed */
  stats: unknown
  /** per-method error replies ({error: "..."}) or missing replies */
  problems: string[]
}

export interface WorkersResult {
  receivers: number
  workers: WorkerInfo[]
  elapsedMs: number
}

export const INSPECT_METHODS = ['ping', 'stats', 'active_queues', 'active', 'reserved', 'scheduled'] as const

function task(info: Record<string, unknown> | undefined, now: number, eta?: unknown): WorkerTask {
  const i = info ?? {}
  const start = typeof i.time_start === 'number' ? i.time_start : null
  return {
    id: typeof i.id === 'string' ? i.id : null,
    name: typeof i.name === 'string' ? i.name : typeof i.type === 'string' ? i.type : null,
    // time_start is the worker's time.time() (unix seconds) in Celery 5
    runtimeSeconds: start !== null && start > 1e9 ? Math.max(0, Math.round((now - start) * 10) / 10) : null,
    args: i.args ?? null,
    kwargs: redactKwargs(i.kwargs ?? null),
    ...(eta !== undefined ? { eta: typeof eta === 'string' ? eta : null } : {}),
  }
}

export async function inspectWorkers(
  b: Broker,
  opts: { timeoutMs: number; destination?: string[]; signal?: AbortSignal },
): Promise<WorkersResult> {
  const r = await broadcast(
    b,
    INSPECT_METHODS.map((method) => ({ method })),
    opts,
  )
  const now = Date.now() / 1000
  const nodes = new Set<string>()
  for (const byNode of Object.values(r.replies)) for (const n of Object.keys(byNode)) nodes.add(n)
  const workers: WorkerInfo[] = [...nodes].sort().map((node) => {
    const get = (m: string) => r.replies[m]?.[node]
    const problems: string[] = []
    for (const m of INSPECT_METHODS) {
      const v = get(m)
      if (v === undefined) problems.push(`no ${m} reply`)
      else if (v && typeof v === 'object' && !Array.isArray(v) && 'error' in v)
        problems.push(`${m}: ${String((v as { error: unknown }).error)}`)
    }
    const stats = (get('stats') ?? {}) as Record<string, unknown>
    const pool = (stats.pool ?? {}) as Record<string, unknown>
    const list = (m: string) => (Array.isArray(get(m)) ? (get(m) as unknown[]) : [])
    return {
      node,
      pid: typeof stats.pid === 'number' ? stats.pid : null,
      poolSize: typeof pool['max-concurrency'] === 'number' ? (pool['max-concurrency'] as number) : null,
      pool: typeof pool.implementation === 'string' ? pool.implementation : 'threads' in pool ? 'threads' : null,
      uptimeSeconds: typeof stats.uptime === 'number' ? stats.uptime : null,
      processed: (stats.total && typeof stats.total === 'object' ? stats.total : {}) as Record<string, number>,
      queues: list('active_queues')
        .map((q) => (q as { name?: unknown })?.name)
        .filter((n): n is string => typeof n === 'string'),
      active: list('active').map((t) => task(t as Record<string, unknown>, now)),
      reserved: list('reserved').map((t) => task(t as Record<string, unknown>, now)),
      scheduled: list('scheduled').map((t) =>
        task((t as { request?: Record<string, unknown> })?.request, now, (t as { eta?: unknown })?.eta),
      ),
      stats: get('stats') ?? null,
      problems,
    }
  })
  return { receivers: r.receivers, workers, elapsedMs: r.elapsedMs }
}
