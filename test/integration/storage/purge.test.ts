import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import StorageQuarantine from '../../../commands/storage/quarantine.js'
import StoragePurge from '../../../commands/storage/purge.js'
import { runInProcess } from '../../support/in-process.js'
import { stamped } from '../../support/fs-tree.js'
import { storageWorld, type StorageWorld } from '../../support/storage-world.js'

describe('dify storage purge (PostgreSQL Dify 1.15.0, OpenDAL fs)', () => {
  let w: StorageWorld
  let runId: string
  beforeAll(async () => {
    w = await storageWorld('storagepurge', '1.15.0')
    const q = await runInProcess(StorageQuarantine, ['--min-age', '1d', '--yes', '--json'], { env: w.env })
    expect(q.code).toBe(0)
    runId = q.json.runId
    expect(q.json.moved).toHaveLength(3)
  }, 120_000)
  afterAll(async () => w?.close())

  const manifestFile = () => join(w.root, 'dify_ops_quarantine', runId, 'manifest.json')
  const runFiles = () => Object.keys(stamped(w.root)).filter((p) => p.startsWith(`dify_ops_quarantine/${runId}/`))

  it('unknown run: exit 3; malformed id: exit 3', async () => {
    const r = await runInProcess(StoragePurge, ['20200101T000000Z-abcdef', '--yes'], { env: w.env })
    expect(r.code).toBe(3)
    expect((await runInProcess(StoragePurge, ['../etc', '--yes'], { env: w.env })).code).toBe(3)
  })

  it('a run younger than the grace period is refused (exit 4) with the time that remains; nothing deleted', async () => {
    const before = stamped(w.root)
    const r = await runInProcess(StoragePurge, [runId, '--older-than', '30d', '--yes', '--json'], { env: w.env })
    expect(r.code).toBe(4)
    expect(r.json.error.message).toMatch(/younger than the grace period of 30d 0h: (29d 23h|30d 0h) remain/)
    expect(stamped(w.root)).toEqual(before)
  })

  it('--dry-run lists what would go and deletes nothing; no --yes without a TTY is exit 2', async () => {
    const m = JSON.parse(readFileSync(manifestFile(), 'utf8'))
    m.createdAt = new Date(Date.now() - 40 * 86_400_000).toISOString()
    writeFileSync(manifestFile(), JSON.stringify(m))
    const before = stamped(w.root)
    const dry = await runInProcess(StoragePurge, [runId, '--dry-run', '--json'], { env: w.env })
    expect(dry.code).toBe(0)
    expect(dry.json).toMatchObject({ dryRun: true, runId, deleted: 0, olderThanSeconds: 30 * 86_400 })
    expect(dry.json.objects.map((o: any) => o.path).sort()).toEqual(runFiles().sort())
    expect(dry.json.objects.at(-1).path).toBe(`dify_ops_quarantine/${runId}/manifest.json`)
    const human = await runInProcess(StoragePurge, [runId, '--dry-run'], { env: w.env })
    expect(human.stdout).toContain('Dry run: would delete 4 objects')
    expect(stamped(w.root)).toEqual(before)
    const noTty = await runInProcess(StoragePurge, [runId], { env: w.env })
    expect(noTty.code).toBe(2)
    expect(noTty.stderr).toContain('--yes')
    expect(stamped(w.root)).toEqual(before)
  })

  it('--yes deletes the run (objects and manifest) and nothing else; then the run is unknown (exit 3)', async () => {
    const before = stamped(w.root)
    const r = await runInProcess(StoragePurge, [runId, '--yes', '--json'], { env: w.env })
    expect(r.code).toBe(0)
    expect(r.json.deleted).toBe(4)
    const after = stamped(w.root)
    const expected = Object.fromEntries(
      Object.entries(before).filter(([p]) => !p.startsWith(`dify_ops_quarantine/${runId}/`)),
    )
    expect(after).toEqual(expected)
    expect((await runInProcess(StoragePurge, [runId, '--yes'], { env: w.env })).code).toBe(3)
  })
})
