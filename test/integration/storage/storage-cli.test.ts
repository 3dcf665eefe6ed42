import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../support/cli.js'
import { stamped } from '../../support/fs-tree.js'
import { storageWorld, type StorageWorld } from '../../support/storage-world.js'

const CASES = [
  ['postgres', '1.15.0'],
  ['mysql', '1.15.0'],
  ['mysql', '1.10.1'],
] as const
for (const [dialect, release] of CASES)
  describe(`dify storage … (built CLI, ${dialect === 'postgres' ? 'PostgreSQL' : 'MariaDB'} Dify ${release}, OpenDAL fs)`, () => {
    let w: StorageWorld
    beforeAll(async () => {
      w = await storageWorld(`storagecli${dialect}${release}`, release, dialect)
    }, 120_000)
    afterAll(async () => w?.close())

    const dbState = async () => ({
      uploads: Number((await w.query('select count(*) as n from upload_files'))[0]!.n),
      tools: Number((await w.query('select count(*) as n from tool_files'))[0]!.n),
      keys: (await w.query('select "key" as k from upload_files order by "key"')).map((r) => r.k),
    })

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
      const before = stamped(w.root)
      const db0 = await dbState()
      const dry = await runCli(['storage', 'quarantine', '--min-age', '1d', '--dry-run', '--json'], { env: w.env })
      expect(dry.code).toBe(0)
      expect(dry.json).toMatchObject({ dryRun: true, runId: null, moved: [] })
      expect(dry.json.summary.orphans).toBe(3)
      expect(stamped(w.root)).toEqual(before)
      expect(await dbState()).toEqual(db0)

      const noTty = await runCli(['storage', 'quarantine', '--min-age', '1d'], { env: w.env })
      expect(noTty.code).toBe(2)
      expect(noTty.stderr).toContain('--yes')
      expect(stamped(w.root)).toEqual(before)

      const q = await runCli(['storage', 'quarantine', '--min-age', '1d', '--yes', '--json'], { env: w.env })
      expect(q.code).toBe(0)
      const runId = q.json.runId as string
      expect(runId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/)
      expect(q.json.moved.map((m: any) => m.path).sort()).toEqual([...w.orphans].sort())
      const after = stamped(w.root)
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
      expect(stamped(w.root)).toEqual(after)

      // the real run is audited in the scratch key space
      const audit = await w.redis.client.xrange(`${w.redis.prefix}dify_ops:audit`, '-', '+')
      expect(audit.map(([, f]) => JSON.parse(f[1]!).command)).toEqual(['storage:quarantine'])

      const back = await runCli(['storage', 'restore', runId, '--json'], { env: w.env })
      expect(back.code).toBe(0)
      const restored = stamped(w.root)
      for (const p of Object.keys(before)) expect(restored[p]?.split('@')[0], p).toBe(before[p]!.split('@')[0])
      expect(Object.keys(restored).filter((p) => p.startsWith('dify_ops_quarantine/'))).toEqual([])
      const unknown = await runCli(['storage', 'restore', '20200101T000000Z-abcdef'], { env: w.env })
      expect(unknown.code).toBe(3)
    })

    it('orphans: a reference to a missing file row alone is exit 8 (NDJSON line "dangling", human line)', async () => {
      // without the row whose object is missing, and with every object younger than --min-age: nothing to report
      await w.query('delete from upload_files where id = $1', [w.missingRow.id])
      const clean = await runCli(['storage', 'orphans', '--min-age', '365d', '--json'], { env: w.env })
      expect(clean.code, clean.stderr).toBe(0)
      const fileId = randomUUID()
      const rowId = await w.insert('message_files', {
        message_id: randomUUID(),
        type: 'document',
        transfer_method: 'local_file',
        upload_file_id: fileId,
        created_by_role: 'account',
        created_by: randomUUID(),
      })
      const j = await runCli(['storage', 'orphans', '--min-age', '365d', '--json'], { env: w.env })
      expect(j.code).toBe(8)
      const lines = j.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(lines.filter((l) => l.type !== 'summary')).toEqual([
        expect.objectContaining({ type: 'dangling', table: 'message_files', column: 'upload_file_id', rowId, fileId }),
      ])
      expect(lines.at(-1)).toMatchObject({ type: 'summary', orphans: 0, missing: 0, dangling: 1 })
      const h = await runCli(['storage', 'orphans', '--min-age', '365d'], { env: w.env })
      expect(h.code).toBe(8)
      expect(h.stdout).toContain(`dangling message_files.upload_file_id of ${rowId} → file ${fileId}`)
    })
  })
