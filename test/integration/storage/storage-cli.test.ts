import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../support/cli.js'
import { storageWorld, type StorageWorld } from '../../support/storage-world.js'

/** path → content + mtime of every file under `root` */
function snapshot(root: string, dir = root, out: Record<string, string> = {}): Record<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) snapshot(root, p, out)
    else out[p.slice(root.length + 1)] = `${readFileSync(p, 'base64')}@${statSync(p).mtimeMs}`
  }
  return out
}

describe('dify storage … (built CLI, PostgreSQL Dify 1.15.0, OpenDAL fs)', () => {
  let w: StorageWorld
  beforeAll(async () => {
    w = await storageWorld('storagecli', '1.15.0')
  }, 120_000)
  afterAll(async () => w?.close())

  const dbState = async () => {
    const r = await w.query(`select (select count(*) from upload_files) as u, (select count(*) from tool_files) as t,
      (select string_agg(key, ',' order by key) from upload_files) as keys`)
    return r[0]
  }

  it('usage --json: totals and per-tenant sums; human table; --top', async () => {
    const total = [...w.objects.values()].reduce((a, b) => a + b, 0)
    const r = await runCli(['storage', 'usage', '--by', 'tenant', '--json'], { env: w.env })
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.json.total).toEqual({ objects: w.objects.size, bytes: total })
    expect(r.json.by).toBe('tenant')
    expect(r.json.groups.map((g: any) => g.key).sort()).toEqual(['-', ...w.tenants].sort())
    const h = await runCli(['storage', 'usage', '--top', '2'], { env: w.env })
    expect(h.code).toBe(0)
    expect(h.stdout).toContain(`${w.objects.size} objects`)
    expect(h.stdout).toMatch(/PREFIX\s+OBJECTS\s+BYTES\s+SIZE/)
    expect(h.stdout).toContain('smaller groups (--top)')
  })

  it('orphans --json is NDJSON: one line per finding, then the summary; exit 8', async () => {
    const r = await runCli(['storage', 'orphans', '--json'], { env: w.env })
    expect(r.code).toBe(8)
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(
      lines
        .filter((l) => l.type === 'orphan')
        .map((l) => l.path)
        .sort(),
    ).toEqual([...w.orphans].sort())
    expect(lines.filter((l) => l.type === 'missing').map((l) => l.id)).toEqual([w.missingRow.id])
    expect(lines.at(-1)).toMatchObject({ type: 'summary', orphans: 3, missing: 1, keptYoung: 1 })
    const h = await runCli(['storage', 'orphans', '--min-age', '365d'], { env: w.env })
    expect(h.code).toBe(8) // the missing object is still a problem
    expect(h.stdout).toContain(`missing  upload_files ${w.missingRow.id}`)
    expect(h.stdout).not.toContain('orphan ')
  })

  it('quarantine --dry-run changes nothing anywhere; the real run moves exactly the orphans; restore puts them back', async () => {
    const before = snapshot(w.root)
    const db0 = await dbState()
    const dry = await runCli(['storage', 'quarantine', '--min-age', '1d', '--dry-run', '--json'], { env: w.env })
    expect(dry.code).toBe(0)
    expect(dry.json).toMatchObject({ dryRun: true, runId: null, moved: [] })
    expect(dry.json.summary.orphans).toBe(3)
    expect(snapshot(w.root)).toEqual(before)
    expect(await dbState()).toEqual(db0)

    const noTty = await runCli(['storage', 'quarantine', '--min-age', '1d'], { env: w.env })
    expect(noTty.code).toBe(2)
    expect(noTty.stderr).toContain('--yes')
    expect(snapshot(w.root)).toEqual(before)

    const q = await runCli(['storage', 'quarantine', '--min-age', '1d', '--yes', '--json'], { env: w.env })
    expect(q.code).toBe(0)
    const runId = q.json.runId as string
    expect(runId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/)
    expect(q.json.moved.map((m: any) => m.path).sort()).toEqual([...w.orphans].sort())
    const after = snapshot(w.root)
    for (const p of w.orphans) {
      expect(after[p]).toBeUndefined()
      expect(after[`dify_ops_quarantine/${runId}/objects/${p}`]?.split('@')[0]).toBe(before[p]!.split('@')[0])
    }
    const manifest = JSON.parse(readFileSync(join(w.root, `dify_ops_quarantine/${runId}/manifest.json`), 'utf8'))
    expect(manifest.objects.map((o: any) => o.path).sort()).toEqual([...w.orphans].sort())
    expect(manifest.missing.map((m: any) => m.id)).toEqual([w.missingRow.id])
    expect(await dbState()).toEqual(db0) // the row with a missing object is never deleted
    // nothing else moved; quarantined objects are not orphans themselves
    const again = await runCli(['storage', 'orphans', '--json', '--min-age', '1d'], { env: w.env })
    expect(
      again.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => l.type === 'orphan'),
    ).toEqual([])

    const dryRestore = await runCli(['storage', 'restore', runId, '--dry-run', '--json'], { env: w.env })
    expect(dryRestore.code).toBe(0)
    expect(dryRestore.json.restored.sort()).toEqual([...w.orphans].sort())
    expect(snapshot(w.root)).toEqual(after)

    // the real run is audited in the scratch key space
    const audit = await w.redis.client.xrange(`${w.redis.prefix}dify_ops:audit`, '-', '+')
    expect(audit.map(([, f]) => JSON.parse(f[1]!).command)).toEqual(['storage:quarantine'])

    const back = await runCli(['storage', 'restore', runId, '--json'], { env: w.env })
    expect(back.code).toBe(0)
    const restored = snapshot(w.root)
    for (const p of Object.keys(before)) expect(restored[p]?.split('@')[0], p).toBe(before[p]!.split('@')[0])
    expect(Object.keys(restored).filter((p) => p.startsWith('dify_ops_quarantine/'))).toEqual([])
    const unknown = await runCli(['storage', 'restore', '20200101T000000Z-abcdef'], { env: w.env })
    expect(unknown.code).toBe(3)
  })
})
