import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { PYTHON, REDIS } from './services.js'

/** The Celery test app (test/fixtures/celery): Debian python3-celery 5.2.6, run with /usr/bin/python3. */
export const CELERY_DIR = fileURLToPath(new URL('../fixtures/celery/', import.meta.url))

export interface CeleryEnv {
  /** broker URL (DB 1, as Dify) */
  brokerUrl: string
  /** kombu global_keyprefix, "<prefix>:" (the scratchRedis prefix) */
  keyPrefix: string
}

export function celeryEnv(keyPrefix: string): CeleryEnv {
  return { brokerUrl: `redis://${REDIS.host}:${REDIS.port}/1`, keyPrefix }
}

export function pyEnv(c: CeleryEnv): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    DOPS_BROKER_URL: c.brokerUrl,
    DOPS_KEYPREFIX: c.keyPrefix,
    PYTHONDONTWRITEBYTECODE: '1',
  }
}

export interface Call {
  task: 'tasks.record' | 'tasks.build_dataset' | 'tasks.send_mail'
  args?: unknown[]
  kwargs?: Record<string, unknown>
  options?: { queue?: string; countdown?: number; eta?: string; priority?: number; expires?: number }
}

/** Send tasks through real Celery `apply_async`; returns their ids. */
export function produce(c: CeleryEnv, calls: Call[]): string[] {
  const out = execFileSync(PYTHON, ['produce.py'], {
    cwd: CELERY_DIR,
    env: pyEnv(c),
    input: JSON.stringify(calls),
    encoding: 'utf8',
  })
  return JSON.parse(out.trim().split('\n').pop()!) as string[]
}

export interface Worker {
  node: string
  proc: ChildProcess
  log(): string
  /** SIGKILL: no warm shutdown, reserved messages stay in `unacked` */
  kill(): Promise<void>
  /** SIGTERM (warm shutdown) and wait for the exit */
  stop(): Promise<void>
}

/** Start a worker (threads pool, no mingle/gossip: ready in about a second) and wait until it is ready. */
export async function startWorker(
  c: CeleryEnv,
  queues: string[],
  opts: { concurrency?: number; name?: string; app?: string; env?: Record<string, string> } = {},
): Promise<Worker> {
  const name = opts.name ?? `dops${randomBytes(3).toString('hex')}`
  const proc = spawn(
    PYTHON,
    [
      '-m',
      'celery',
      '-A',
      opts.app ?? 'celery_app',
      'worker',
      '-Q',
      queues.join(','),
      '-n',
      `${name}@%h`,
      '-P',
      'threads',
      '-c',
      String(opts.concurrency ?? 2),
      '--without-mingle',
      '--without-gossip',
      '-l',
      'info',
    ],
    { cwd: CELERY_DIR, env: { ...pyEnv(c), ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let log = ''
  proc.stdout!.on('data', (d) => (log += d))
  proc.stderr!.on('data', (d) => (log += d))
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`celery worker not ready after 30 s:\n${log}`)), 30_000)
    const check = () => {
      if (/ ready\./.test(log)) {
        clearTimeout(timer)
        resolve()
      }
    }
    proc.stdout!.on('data', check)
    proc.stderr!.on('data', check)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`celery worker exited (${code}):\n${log}`))
    })
  })
  const node = / (\S+@\S+) ready\./.exec(log)?.[1] ?? `${name}@?`
  const waitExit = async (ms: number) => {
    await Promise.race([exited, new Promise((r) => setTimeout(r, ms))])
  }
  return {
    node,
    proc,
    log: () => log,
    async kill() {
      if (proc.exitCode === null) proc.kill('SIGKILL')
      await waitExit(5000)
    },
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM')
      await waitExit(10_000)
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL')
        await waitExit(2000)
      }
    },
  }
}

/** Poll until fn() is truthy (or throw after ms). */
export async function waitFor<T>(fn: () => Promise<T> | T, ms = 15_000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
