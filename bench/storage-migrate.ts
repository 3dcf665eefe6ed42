// `dify storage migrate` fs → fs over 20 000 files of mixed sizes, next to `cp -r` of the same tree in the same run
// (runs interleaved, each into a fresh target). Target: at least 0.5× cp's throughput; peak RSS flat with size
// (the same 20 000-file tree vs a few large files of about the same total: streamed, one chunk per copy in flight).
// Build first (dist/). Run: npm run bench -- storage-migrate [files]
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadRelease } from '../test/support/oracles.js'
import { scratchPg } from '../test/support/scratch.js'
import { report } from './lib.js'

const N = Number(process.argv[2] ?? 20_000)
const RUNS = Number(process.env.RUNS ?? 3)
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null
const work = mkdtempSync(join(tmpdir(), 'dops-bench-stmig-'))
const db = await scratchPg('benchstmig')
try {
  await loadRelease(db, 'postgres', '1.15.0')
  // mixed sizes: 90 % small (0–16 KiB), 9.5 % 64 KiB, 0.5 % 2 MiB (streamed in 1 MiB chunks)
  const many = join(work, 'many')
  const noise = randomBytes(2 << 20)
  let bytes = 0
  const made = new Set<string>()
  for (let i = 0; i < N; i++) {
    const size = i % 200 === 0 ? 2 << 20 : i % 10 === 0 ? 64 << 10 : (i * 7919) % (16 << 10)
    const dir = join(many, 'upload_files', `00000000-0000-4000-8000-${String(i % 40).padStart(12, '0')}`)
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true })
      made.add(dir)
    }
    writeFileSync(join(dir, `${String(i).padStart(8, '0')}.bin`), noise.subarray(i % 1024, (i % 1024) + size))
    bytes += size
  }
  // the same bytes in 4 large files: RSS must not grow with the size of an object
  const large = join(work, 'large')
  mkdirSync(join(large, 'upload_files'), { recursive: true })
  const quarter = Math.ceil(bytes / 4)
  for (let i = 0; i < 4; i++) {
    const chunks: Buffer[] = []
    for (let n = 0; n < quarter; n += noise.length) chunks.push(noise.subarray(0, Math.min(noise.length, quarter - n)))
    writeFileSync(join(large, 'upload_files', `big-${i}.bin`), Buffer.concat(chunks))
  }
  console.log(
    `generated ${N} files, ${(bytes / 2 ** 20).toFixed(0)} MiB; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  )

  const run = (cmd: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string) => {
    // every timed run starts with no dirty pages of the previous one (its tree just removed, or the generated one):
    // otherwise one side pays the other's writeback, and the ratio swings several times over (measured)
    spawnSync('sync')
    const t0 = process.hrtime.bigint()
    const r = spawnSync(TIME ?? cmd, TIME ? ['-f', '%U %S %M', cmd, ...args] : args, {
      env: env ?? process.env,
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
    const [u, s, m] = (r.stderr.toString().trim().split('\n').pop() ?? '').split(' ').map(Number)
    return { ms, cpuMs: TIME ? (u! + s!) * 1000 : null, rssMb: TIME ? m! / 1024 : null }
  }
  // every run writes into a fresh target and nothing is removed until the end: on this machine's ext4 (mounted with
  // `discard`) removing the previous 461 MiB tree right before a timed run made either side pay for it, and the
  // system time of the same copy swung from 1.2 to 14 s (measured, both for cp and for migrate)
  let seq = 0
  const fresh = () => join(work, `dst-${++seq}`)
  const migrate = (src: string, concurrency: number) => {
    const dst = fresh()
    writeFileSync(join(work, 'target.env'), `STORAGE_TYPE=opendal\nOPENDAL_SCHEME=fs\nOPENDAL_FS_ROOT=${dst}\n`)
    const env = { ...process.env, ...db.env, STORAGE_TYPE: 'opendal', OPENDAL_SCHEME: 'fs', OPENDAL_FS_ROOT: src }
    const args = ['storage', 'migrate', '--to-env-file', 'target.env', '--yes', '--json']
    return run(process.execPath, [BIN, ...args, '--concurrency', String(concurrency)], env, work)
  }
  const cp = (src: string) => run('cp', ['-r', src, fresh()])
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const best = (xs: number[]) => Math.min(...xs)
  const cpT: number[] = []
  const cpCpu: number[] = []
  const migT: number[] = []
  const migCpu: number[] = []
  const migRss: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const c = cp(many)
    cpT.push(c.ms)
    if (c.cpuMs !== null) cpCpu.push(c.cpuMs)
    const m = migrate(many, 8)
    migT.push(m.ms)
    if (m.cpuMs !== null) migCpu.push(m.cpuMs)
    if (m.rssMb !== null) migRss.push(m.rssMb)
  }
  const largeCp = cp(large)
  const largeM = migrate(large, 8)
  const c1 = migrate(many, 1)
  const mib = bytes / 2 ** 20
  const rate = (ms: number) => `${(mib / (ms / 1000)).toFixed(1)} MiB/s, ${Math.round(N / (ms / 1000))} files/s`
  report(
    `storage migrate fs → fs, ${N} files, ${mib.toFixed(0)} MiB (median of ${RUNS}, interleaved, each into a fresh target)`,
    [
      [
        'cp -r',
        `${med(cpT).toFixed(0)} ms  ${rate(med(cpT))}${cpCpu.length ? `, cpu ${med(cpCpu).toFixed(0)} ms` : ''}`,
      ],
      [
        'dify storage migrate --concurrency 8',
        `${med(migT).toFixed(0)} ms  ${rate(med(migT))}${migCpu.length ? `, cpu ${med(migCpu).toFixed(0)} ms (${((med(migCpu) * 1000) / N).toFixed(0)} µs per object)` : ''}`,
      ],
      [
        'throughput vs cp -r (target ≥ 0.50)',
        `${(best(cpT) / best(migT)).toFixed(2)} best of ${RUNS} each (${best(migT).toFixed(0)} vs ${best(cpT).toFixed(0)} ms); ${(med(cpT) / med(migT)).toFixed(2)} median`,
      ],
      ['dify storage migrate --concurrency 1', `${c1.ms.toFixed(0)} ms  ${rate(c1.ms)}`],
      [`peak RSS, ${N} files`, migRss.length ? `${med(migRss).toFixed(0)} MB` : 'n/a'],
      [
        `4 files of ${(quarter / 2 ** 20).toFixed(0)} MiB: cp -r / migrate`,
        `${largeCp.ms.toFixed(0)} ms / ${largeM.ms.toFixed(0)} ms (${(largeCp.ms / largeM.ms).toFixed(2)}×), peak RSS ${largeM.rssMb?.toFixed(0) ?? 'n/a'} MB`,
      ],
      [
        'load average at the end',
        loadavg()
          .map((x) => x.toFixed(2))
          .join(' '),
      ],
    ],
  )
} finally {
  rmSync(work, { recursive: true, force: true })
  await db.drop()
}
