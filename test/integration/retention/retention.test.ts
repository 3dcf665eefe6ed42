import { mkdtempSync, existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Runtime } from '../../../src/runtime/index.js'
import { loadConfig } from '../../../src/config/schema.js'
import { loadProfile } from '../../../src/dify/schema-version.js'
import { retentionMapOf, walk, RETENTION_KEPT } from '../../../src/dify/retention-map.js'
import { retentionReport } from '../../../src/retention/report.js'
import { retentionClean } from '../../../src/retention/clean.js'
import { retentionRestore } from '../../../src/retention/restore.js'
import { listBatches, readBatchTable } from '../../../src/retention/archive.js'
import { RETENTION_CHECKPOINT_TABLE } from '../../../src/retention/checkpoint.js'
import {
  retentionWorld,
  dumpTables,
  crashAtBatch,
  MAP_TABLES,
  type RetentionWorld,
} from '../../support/retention-world.js'
import { runInProcess } from '../../support/in-process.js'
import RetentionCleanCmd from '../../../commands/retention/clean.js'
import RetentionReportCmd from '../../../commands/retention/report.js'

const DAY = 86_400
const CASES = [
  ['postgres', '1.12.0'],
  ['postgres', '1.15.0'],
  ['mysql', '1.15.0'],
] as const

for (const [dialect, release] of CASES) {
  describe(`dify retention (${dialect === 'postgres' ? 'PostgreSQL' : 'MariaDB'}, Dify ${release})`, () => {
    let w: RetentionWorld
    let rt: Runtime
    const deps = async () => {
      const db = await rt.db()
      return { db, profile: await loadProfile(db) }
    }
    const allTables = () => [...MAP_TABLES, 'message_annotations', 'apps', 'tenants']
    const count = async (t: string, where = '1=1') =>
      Number((await w.query(`select count(*) as n from "${t}" where ${where}`))[0]!.n)
    const inList = (ids: string[]) => ids.map((i) => `'${i}'`).join(',')

    beforeAll(async () => {
      w = await retentionWorld(`ret${dialect}${release}`, dialect, release)
      rt = new Runtime(loadConfig({ env: w.env, noDotenv: true, cwd: tmpdir() }))
    }, 180_000)
    afterAll(async () => {
      await rt?.close()
      await w?.close()
    })

    it('report: counts the old closed rows and what belongs to them, names the index of each batch', async () => {
      const r = await retentionReport(await deps(), { olderThanSeconds: 30 * DAY })
      const t = (n: string) => r.tables.find((x) => x.table === n)!
      expect(t('workflow_runs')).toMatchObject({ rows: 8, rowsOlder: 5, depth: 0 })
      expect(t('workflow_node_executions')).toMatchObject({ rows: 16, rowsOlder: 10 })
      expect(t('messages')).toMatchObject({ rows: 5, rowsOlder: 3 })
      expect(t('message_files')).toMatchObject({ rowsOlder: 3 })
      // a conversation goes only once it has no message: none before messages are cleaned
      expect(t('conversations')).toMatchObject({ rows: 3, rowsOlder: 0 })
      expect(t('workflow_runs').index).toBe('workflow_run_created_at_id_idx')
      expect(t('pinned_conversations').index).toBeNull()
      expect(t('pinned_conversations').suggestedIndex?.ddl).toMatch(
        /CREATE INDEX .*pinned_conversations.*conversation_id/,
      )
      expect(r.warnings.some((x) => x.includes('pinned_conversations'))).toBe(true)
      if (await w.has('workflow_pauses')) expect(t('workflow_pauses')).toMatchObject({ rows: 2, rowsOlder: 1 })
      expect(t('workflow_runs').estimatedBytes).toBeGreaterThan(0)
      // --app / --tenant filters
      const none = await retentionReport(await deps(), {
        olderThanSeconds: 30 * DAY,
        apps: ['00000000-0000-0000-0000-000000000000'],
      })
      expect(none.tables.every((x) => x.rowsOlder === 0)).toBe(true)
      const byTenant = await retentionReport(await deps(), { olderThanSeconds: 30 * DAY, tenants: [w.tenant] })
      expect(byTenant.tables.find((x) => x.table === 'messages')!.rowsOlder).toBe(3)
    })

    it('a cut-off under 1 day is refused without --force (exit 2); report --json is the result', async () => {
      const r = await runInProcess(RetentionCleanCmd, ['--older-than', '1h', '--yes'], { env: w.env })
      expect(r.code).toBe(2)
      const j = await runInProcess(RetentionReportCmd, ['--older-than', '30d', '--json'], { env: w.env })
      expect(j.code).toBe(0)
      expect(JSON.parse(j.stdout).tables.length).toBeGreaterThan(10)
    })

    it('--dry-run writes nothing anywhere', async () => {
      const before = await dumpTables(w, allTables())
      const dir = join(mkdtempSync(join(tmpdir(), 'dops-ret-')), 'archive')
      const r = await retentionClean(await deps(), {
        olderThanSeconds: 30 * DAY,
        batchSize: 2,
        dryRun: true,
        archiveDir: dir,
      })
      expect(r.dryRun).toBe(true)
      expect(r.tables.find((t) => t.table === 'workflow_runs')!.rowsDeleted).toBe(5)
      expect(await dumpTables(w, allTables())).toEqual(before)
      expect(await w.has(RETENTION_CHECKPOINT_TABLE)).toBe(false)
      expect(existsSync(dir)).toBe(false)
    })

    let archive: string
    let before: Record<string, string[]>
    let afterClean: Record<string, string[]>
    it('clean removes exactly the old closed rows and their children, leaves no orphan, keeps running/paused runs', async () => {
      before = await dumpTables(w, allTables())
      archive = join(mkdtempSync(join(tmpdir(), 'dops-ret-')), 'archive')
      // a crash after the archive of batch 2 is written, before its delete commits
      await expect(
        retentionClean(await deps(), {
          olderThanSeconds: 30 * DAY,
          batchSize: 2,
          archiveDir: archive,
          beforeDelete: crashAtBatch(2),
        }),
      ).rejects.toThrow('simulated crash')
      expect(await count('workflow_runs')).toBe(6) // batch 1 (2 runs) committed
      // the rerun resumes after batch 1 and rewrites batch 2
      const r = await retentionClean(await deps(), { olderThanSeconds: 30 * DAY, batchSize: 2, archiveDir: archive })
      expect(r.resumed).toContain('workflow')
      expect(r.complete).toBe(true)
      const runs = (await w.query('select id from workflow_runs')).map((x) => x.id).sort()
      expect(runs).toEqual([w.runs.oldRunning, w.runs.oldPaused, w.runs.young].sort())
      expect(
        await count(
          'workflow_node_executions',
          `workflow_run_id in (${inList([w.runs.oldRunning, w.runs.oldPaused])})`,
        ),
      ).toBe(4)
      if (await w.has('workflow_pauses'))
        expect(await count('workflow_pauses', `workflow_run_id = '${w.runs.oldPaused}'`)).toBe(1)
      const msgs = (await w.query('select id from messages')).map((x) => x.id).sort()
      expect(msgs).toEqual([...w.messages.young].sort())
      const convs = (await w.query('select id from conversations')).map((x) => x.id).sort()
      expect(convs).toEqual([w.conversations.oldWithYoung, w.conversations.young].sort())
      // annotations are user content: kept
      expect(await count('message_annotations')).toBe(1)
      // no orphan over the map
      const profile = await loadProfile(await rt.db())
      for (const root of retentionMapOf(profile))
        for (const { t } of walk(root))
          if (t.link && (await w.has(t.table)))
            expect(
              await count(
                t.table,
                `"${t.link.column}" is not null and "${t.link.column}" not in (select id from "${t.link.parent}")`,
              ),
              `${t.table}.${t.link.column}`,
            ).toBe(0)
      expect(RETENTION_KEPT.length).toBeGreaterThan(0)
      // the archive holds every deleted row exactly once
      const deletedTotal = r.tables.reduce((a, t) => a + t.rowsDeleted, 0)
      let archived = 0
      const seen = new Set<string>()
      for (const g of ['workflow', 'messages', 'conversations'])
        for (const b of listBatches(archive, g))
          for (const t of MAP_TABLES)
            for (const row of readBatchTable(archive, g, b, t)) {
              const k = `${t}:${row.id}:${row.conversation_id ?? ''}`
              expect(seen.has(k), k).toBe(false)
              seen.add(k)
              archived++
            }
      const beforeRows = Object.values(before).reduce((a, x) => a + x.length, 0)
      const afterRows = Object.values(await dumpTables(w, allTables())).reduce((a, x) => a + x.length, 0)
      expect(archived).toBe(beforeRows - afterRows)
      expect(deletedTotal).toBeLessThan(archived) // the crashed run had committed batch 1
      expect(readdirSync(archive)).toContain('manifest.json')
      expect(r.files.count).toBeGreaterThan(0)
      afterClean = await dumpTables(w, allTables())
    }, 60_000)

    it('restore puts the rows back byte for byte, and twice restores nothing more', async () => {
      const dry = await retentionRestore({ db: await rt.db() }, { archiveDir: archive, dryRun: true })
      expect(dry.tables.reduce((a, t) => a + t.restored, 0)).toBeGreaterThan(0)
      const r = await retentionRestore({ db: await rt.db() }, { archiveDir: archive })
      expect(r.tables.every((t) => t.skippedExisting === 0)).toBe(true)
      expect(await dumpTables(w, allTables())).toEqual(before)
      const again = await retentionRestore({ db: await rt.db() }, { archiveDir: archive })
      expect(again.tables.reduce((a, t) => a + t.restored, 0)).toBe(0)
    }, 60_000)

    it('an interrupt stops after the batch in flight; --max-runtime stops between batches; a rerun resumes', async () => {
      const ac = new AbortController()
      const r = await retentionClean(await deps(), {
        olderThanSeconds: 30 * DAY,
        batchSize: 1,
        groups: ['workflow'],
        signal: ac.signal,
        onBatch: () => ac.abort(),
      })
      expect(r).toMatchObject({ stoppedBy: 'interrupt', complete: false, batches: 1 })
      expect(await count('workflow_runs')).toBe(7)
      const t = await retentionClean(await deps(), {
        olderThanSeconds: 30 * DAY,
        batchSize: 1,
        groups: ['workflow'],
        maxRuntimeMs: 0,
      })
      expect(t).toMatchObject({ stoppedBy: 'max-runtime', batches: 0, resumed: ['workflow'] })
      const done = await retentionClean(await deps(), {
        olderThanSeconds: 30 * DAY,
        batchSize: 1,
        groups: ['workflow'],
      })
      expect(done).toMatchObject({ complete: true, resumed: ['workflow'], batches: 4 })
      expect(await count('workflow_runs')).toBe(3)
    }, 60_000)

    it('without an archive (PostgreSQL: batches in DO blocks), every group ends exactly as the archived clean did', async () => {
      // the world as before any clean: the archive put back (the interrupt test deleted the old runs again)
      await retentionRestore({ db: await rt.db() }, { archiveDir: archive })
      expect(await dumpTables(w, allTables())).toEqual(before)
      const seen: number[] = []
      let idle = 0
      const r = await retentionClean(
        { ...(await deps()), whileServerWorks: () => idle++ },
        { olderThanSeconds: 30 * DAY, batchSize: 2, onBatch: (p) => seen.push(p.batch) },
      )
      expect(r.complete).toBe(true)
      // the first block of several batches lets the command load its exit-time driver meanwhile: once per run
      expect(idle).toBe(dialect === 'postgres' ? 1 : 0)
      // every table, row by row, as the clean that archived (and crashed once) left it
      expect(await dumpTables(w, allTables())).toEqual(afterClean)
      const beforeRows = Object.values(before).reduce((a, x) => a + x.length, 0)
      const afterRows = Object.values(afterClean).reduce((a, x) => a + x.length, 0)
      expect(r.tables.reduce((a, t) => a + t.rowsDeleted, 0)).toBe(beforeRows - afterRows)
      expect(r.files.count).toBeGreaterThan(0)
      expect(r.files.ids.length).toBe(r.files.count)
      expect(seen.length).toBe(r.batches)
      expect(r.maxBatchMs).toBeGreaterThanOrEqual(0)
    }, 60_000)
  })
}
