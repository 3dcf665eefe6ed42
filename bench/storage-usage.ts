// `dify storage usage` over 200 000 objects (OpenDAL fs), next to bare OpenDAL listings in the same run.
// Target: at least 0.8× the rate of the bare listing that reads the same metadata (fs lists no sizes: list + stat).
// Build first (dist/). Run: npm run bench -- storage-usage [count]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fmt, measure, report } from './lib.js'

const N = Number(process.argv[2] ?? 200_000)
const root = mkdtempSync(join(tmpdir(), 'dops-bench-storage-'))
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const OPENDAL = fileURLToPath(new URL('../node_modules/opendal/index.cjs', import.meta.url))
try {
  const t0 = performance.now()
  const perDir = 1000
  const made = new Set<string>()
  for (let i = 0; i < N; i++) {
    const dir = join(
      root,
      i % 10 === 0 ? 'tools' : 'upload_files',
      `00000000-0000-4000-8000-${String(Math.floor(i / perDir)).padStart(12, '0')}`,
    )
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true })
      made.add(dir)
    }
    writeFileSync(join(dir, `${String(i).padStart(8, '0')}.txt`), 'x'.repeat(i % 97))
  }
  console.log(
    `generated ${N} objects in ${((performance.now() - t0) / 1000).toFixed(1)} s; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  )
  const env = { ...process.env, STORAGE_TYPE: 'opendal', OPENDAL_SCHEME: 'fs', OPENDAL_FS_ROOT: root }
  const bare = (stat: boolean) => `
    const { Operator } = require(${JSON.stringify(OPENDAL)});
    (async () => {
      const op = new Operator('fs', { root: ${JSON.stringify(root)} });
      const l = await op.lister('', { recursive: true });
      let e, n = 0, bytes = 0n; const win = [];
      while ((e = await l.next()) !== null) {
        if (e.path().endsWith('/')) continue;
        n++;
        if (${stat}) { win.push(op.stat(e.path())); if (win.length >= 16) bytes += (await win.shift()).contentLength }
      }
      for (const p of win) bytes += (await p).contentLength;
      if (n !== ${N}) throw new Error('listed ' + n);
    })()`
  const runs = { runs: 3, warmup: 1 }
  const list = measure(process.execPath, ['-e', bare(false)], runs)
  const listStat = measure(process.execPath, ['-e', bare(true)], runs)
  const usage = measure(process.execPath, [BIN, 'storage', 'usage', '--json'], { ...runs, env })
  const byTenant = measure(process.execPath, [BIN, 'storage', 'usage', '--by', 'tenant', '--json'], { ...runs, env })
  const rate = (ms: number) => `${Math.round(N / (ms / 1000)).toLocaleString('en')} objects/s`
  report(`storage usage over ${N} objects (OpenDAL fs, median of 3)`, [
    ['bare OpenDAL listing, paths only', `${fmt(list)}  ${rate(list.wallMs)}`],
    ['bare OpenDAL listing + stat (16 at a time)', `${fmt(listStat)}  ${rate(listStat.wallMs)}`],
    ['dify storage usage --json', `${fmt(usage, listStat)}  ${rate(usage.wallMs)}`],
    ['dify storage usage --by tenant --json', `${fmt(byTenant, listStat)}  ${rate(byTenant.wallMs)}`],
    ['rate vs list + stat (target ≥ 0.80)', (listStat.wallMs / usage.wallMs).toFixed(2)],
    ['rate vs paths-only listing', (list.wallMs / usage.wallMs).toFixed(2)],
  ])
} finally {
  rmSync(root, { recursive: true, force: true })
}
