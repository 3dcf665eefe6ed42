/**
 * `dify retention clean --archive-storage PREFIX` (PostgreSQL 1.15.0, OpenDAL fs storage): the archive is written to
 * the storage with the directory's layout; a crash after batch 2's archive is written and before its delete commits,
 * then the rerun: every deleted row is archived exactly once; `retention restore --from-storage PREFIX` gives the
 * tables back byte for byte.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Runtime } from '../../../src/runtime/index.js'
import { loadConfig } from '../../../src/config/schema.js'
import { loadProfile } from '../../../src/dify/schema-version.js'
import { retentionClean } from '../../../src/retention/clean.js'
import { retentionRestore } from '../../../src/retention/restore.js'
import { storageStore } from '../../../src/retention/archive.js'
import {
  retentionWorld,
  dumpTables,
  crashAtBatch,
  MAP_TABLES,
  type RetentionWorld,
} from '../../support/retention-world.js'

const DAY = 86_400
const PREFIX = '/archives/ret-2026/'

describe('dify retention clean --archive-storage (PostgreSQL, Dify 1.15.0, fs storage)', () => {
  let w: RetentionWorld
  let rt: Runtime
  let root: string
  let before: Record<string, string[]>
  const allTables = () => [...MAP_TABLES, 'message_annotations', 'apps', 'tenants']
  const deps = async () => {
    const db = await rt.db()
    return { db, profile: await loadProfile(db), storage: () => rt.storage() }
  }

  beforeAll(async () => {
    w = await retentionWorld('retarchst', 'postgres', '1.15.0')
    root = mkdtempSync(join(tmpdir(), 'dops-retarch-'))
    rt = new Runtime(
      loadConfig({
        env: { ...w.env, STORAGE_TYPE: 'opendal', OPENDAL_SCHEME: 'fs', OPENDAL_FS_ROOT: root },
        noDotenv: true,
        cwd: tmpdir(),
      }),
    )
    before = await dumpTables(w, allTables())
  }, 180_000)
  afterAll(async () => {
    await rt?.close()
    await w?.close()
    if (root) rmSync(root, { recursive: true, force: true })
  })

  it('a crash between the archive write and the commit, then the rerun: each deleted row archived once', async () => {
    await expect(
      retentionClean(await deps(), {
        olderThanSeconds: 30 * DAY,
        batchSize: 2,
        archiveStorage: PREFIX,
        beforeDelete: crashAtBatch(2),
      }),
    ).rejects.toThrow('simulated crash')
    // batch 2 of workflow was written to the storage before the crash
    expect(existsSync(join(root, 'archives/ret-2026/workflow/000002'))).toBe(true)
    const r = await retentionClean(await deps(), { olderThanSeconds: 30 * DAY, batchSize: 2, archiveStorage: PREFIX })
    expect(r).toMatchObject({ complete: true, resumed: ['workflow'], archiveStorage: 'archives/ret-2026/' })
    expect(readdirSync(join(root, 'archives/ret-2026'))).toContain('manifest.json')

    const store = storageStore(await rt.storage(), PREFIX)
    const seen = new Set<string>()
    let archived = 0
    for (const g of ['workflow', 'messages', 'conversations'])
      for (const b of await store.listBatches(g))
        for (const t of MAP_TABLES)
          for (const row of await store.readBatchTable(g, b, t)) {
            const k = `${t}:${row.id}:${row.conversation_id ?? ''}`
            expect(seen.has(k), k).toBe(false)
            seen.add(k)
            archived++
          }
    const beforeRows = Object.values(before).reduce((a, x) => a + x.length, 0)
    const afterRows = Object.values(await dumpTables(w, allTables())).reduce((a, x) => a + x.length, 0)
    expect(archived).toBe(beforeRows - afterRows)
    expect(archived).toBeGreaterThan(0)
    const manifest = await store.readManifest()
    expect(manifest!.batches.filter((b) => b.group === 'workflow').map((b) => b.batch)).toEqual(
      (await store.listBatches('workflow')).filter((n) => n >= 1),
    )
  }, 60_000)

  it('restore --from-storage puts the rows back byte for byte; twice restores nothing more', async () => {
    const r = await retentionRestore({ db: await rt.db(), storage: () => rt.storage() }, { fromStorage: PREFIX })
    expect(r.archiveDir).toBe('storage:archives/ret-2026/')
    expect(r.tables.every((t) => t.skippedExisting === 0)).toBe(true)
    expect(await dumpTables(w, allTables())).toEqual(before)
    const again = await retentionRestore({ db: await rt.db(), storage: () => rt.storage() }, { fromStorage: PREFIX })
    expect(again.tables.reduce((a, t) => a + t.restored, 0)).toBe(0)
    await expect(
      retentionRestore({ db: await rt.db(), storage: () => rt.storage() }, { fromStorage: 'nothing/here' }),
    ).rejects.toThrow(/No archive at storage:nothing\/here\//)
  }, 60_000)
})
