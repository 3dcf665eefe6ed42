/**
 * `dify retention clean --files quarantine` on PostgreSQL and MariaDB (Dify 1.15.0, with and without --archive-dir)
 * with an OpenDAL fs storage: the upload files named
 * only by deleted rows lose their rows and their objects go to a storage quarantine run; a file still named by a
 * surviving row (an id site or text) stays; `storage restore` brings the objects back; an unreachable storage leaves
 * the ids pending and the rerun moves them.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Runtime } from '../../../src/runtime/index.js'
import { loadConfig } from '../../../src/config/schema.js'
import { loadProfile } from '../../../src/dify/schema-version.js'
import { retentionClean } from '../../../src/retention/clean.js'
import { RETENTION_FILES_TABLE } from '../../../src/retention/files.js'
import { retentionRestore } from '../../../src/retention/restore.js'
import { quarantinedPath, restoreRun } from '../../../src/storage/quarantine.js'
import { retentionWorld, type RetentionWorld } from '../../support/retention-world.js'

const DAY = 86_400

describe.each([
  ['postgres', false],
  ['postgres', true],
  ['mysql', false],
  ['mysql', true],
] as const)('dify retention clean --files quarantine (%s, Dify 1.15.0, fs storage, archive %s)', (dialect, archive) => {
  let w: RetentionWorld
  let rt: Runtime
  let root: string
  /** upload file id → key */
  const files = new Map<string, string>()
  let onlyOld: string[] = []
  let sharedById = ''
  let sharedByText = ''
  let unrelated = ''
  let archiveDir: string | undefined

  const deps = async () => {
    const db = await rt.db()
    return { db, profile: await loadProfile(db), storage: () => rt.storage() }
  }
  const ids = async (sql: string) => (await w.query(sql)).map((r) => String(r.f))
  const rowExists = async (id: string) => (await w.query(`select 1 from upload_files where id = $1`, [id])).length === 1
  const addFile = async (id: string) => {
    const key = `upload_files/${w.tenant}/${randomUUID()}.txt`
    await w.insert('upload_files', { id, tenant_id: w.tenant, key, size: 5, storage_type: 'opendal' })
    const p = join(root, key)
    mkdirSync(dirname(p), { recursive: true })
    writeFileSync(p, 'hello')
    files.set(id, key)
  }

  beforeAll(async () => {
    w = await retentionWorld(`retfiles${dialect}`, dialect, '1.15.0')
    root = mkdtempSync(join(tmpdir(), 'dops-retfiles-'))
    archiveDir = archive ? mkdtempSync(join(tmpdir(), 'dops-retfiles-archive-')) : undefined
    rt = new Runtime(
      loadConfig({
        env: { ...w.env, STORAGE_TYPE: 'opendal', OPENDAL_SCHEME: 'fs', OPENDAL_FS_ROOT: root },
        noDotenv: true,
        cwd: tmpdir(),
      }),
    )
    const old = w.runs.oldClosed.map((r) => `'${r}'`).join(',')
    const offloads = await ids(`select o.file_id as f from workflow_node_execution_offload o
      join workflow_node_executions n on n.id = o.node_execution_id where n.workflow_run_id in (${old})`)
    const oldMsgs = w.messages.old.map((m) => `'${m}'`).join(',')
    const msgFiles = await ids(`select upload_file_id as f from message_files where message_id in (${oldMsgs})`)
    const formFiles = await ids(`select u.upload_file_id as f from human_input_form_upload_files u
      join human_input_forms h on h.id = u.form_id where h.workflow_run_id in (${old})`)
    expect(offloads.length).toBeGreaterThan(1)
    expect(msgFiles.length).toBeGreaterThan(1)
    for (const id of [...offloads, ...msgFiles, ...formFiles]) await addFile(id)
    // a message file also attached to a young message (an id site), an offload named in a young run's outputs (text)
    sharedById = msgFiles[0]!
    await w.insert('message_files', { message_id: w.messages.young[0], upload_file_id: sharedById })
    sharedByText = offloads[0]!
    await w.query(`update workflow_runs set outputs = $1 where id = $2`, [
      JSON.stringify({ file: { related_id: sharedByText } }),
      w.runs.young,
    ])
    unrelated = randomUUID()
    await addFile(unrelated)
    onlyOld = [...offloads, ...msgFiles, ...formFiles].filter((id) => id !== sharedById && id !== sharedByText)
  }, 180_000)
  afterAll(async () => {
    await rt?.close()
    await w?.close()
    if (root) rmSync(root, { recursive: true, force: true })
    if (archiveDir) rmSync(archiveDir, { recursive: true, force: true })
  })

  it('--dry-run writes nothing: no pending table, every row and object in place', async () => {
    const r = await retentionClean(await deps(), {
      olderThanSeconds: 30 * DAY,
      batchSize: 2,
      files: 'quarantine',
      dryRun: true,
    })
    expect(r.files.quarantine).toBeNull()
    // the files at stake: every upload file named by a row that would go (the reference check runs with the clean)
    expect(r.files.ids.sort()).toEqual([...onlyOld, sharedById, sharedByText].sort())
    expect(await w.has(RETENTION_FILES_TABLE)).toBe(false)
    for (const [id, key] of files) {
      expect(await rowExists(id)).toBe(true)
      expect(existsSync(join(root, key))).toBe(true)
    }
  })

  it('an unreachable storage lists the files and leaves them pending; the rerun quarantines only the unreferenced', async () => {
    const first = await retentionClean(
      { ...(await deps()), storage: () => Promise.reject(new Error('connection refused')) },
      { olderThanSeconds: 30 * DAY, batchSize: 2, sleepBetweenMs: 0, files: 'quarantine', archiveDir },
    )
    expect(first.complete).toBe(true)
    expect(first.files.quarantine).toMatchObject({ status: 'not-run', moved: [] })
    expect(first.files.quarantine!.reason).toMatch(/connection refused/)
    expect(first.files.quarantine!.pending).toBeGreaterThanOrEqual(onlyOld.length)
    for (const id of files.keys()) expect(await rowExists(id)).toBe(true)

    const r = await retentionClean(await deps(), {
      olderThanSeconds: 30 * DAY,
      batchSize: 2,
      sleepBetweenMs: 0,
      files: 'quarantine',
      archiveDir,
    })
    const q = r.files.quarantine!
    expect(q).toMatchObject({ status: 'done', pending: 0, failed: [], lost: [] })
    expect(q.moved.map((m) => m.fileId).sort()).toEqual([...onlyOld].sort())
    for (const id of onlyOld) {
      expect(await rowExists(id)).toBe(false)
      expect(existsSync(join(root, files.get(id)!))).toBe(false)
      expect(existsSync(join(root, quarantinedPath(q.runId!, files.get(id)!)))).toBe(true)
    }
    // still named by a surviving row (message_files of a young message; a young run's outputs), or by nothing deleted
    for (const id of [sharedById, sharedByText, unrelated]) {
      expect(await rowExists(id)).toBe(true)
      expect(existsSync(join(root, files.get(id)!))).toBe(true)
    }
    expect(Number((await w.query(`select count(*) as n from ${RETENTION_FILES_TABLE}`))[0]!.n)).toBe(0)

    // a rerun finds nothing more to do
    const again = await retentionClean(await deps(), {
      olderThanSeconds: 30 * DAY,
      batchSize: 2,
      files: 'quarantine',
      archiveDir,
    })
    expect(again.files.quarantine).toBeNull()

    // dify storage restore puts the objects back
    const back = await restoreRun(await rt.storage(), q.runId!, { dryRun: false })
    expect(back.restored.sort()).toEqual(onlyOld.map((id) => files.get(id)!).sort())
    for (const id of onlyOld) expect(existsSync(join(root, files.get(id)!))).toBe(true)

    // with an archive, retention restore puts the upload_files rows back (byte for byte with the rest)
    if (archiveDir) {
      const rr = await retentionRestore({ db: (await deps()).db }, { archiveDir })
      expect(rr.tables.find((t) => t.table === 'upload_files')).toMatchObject({
        archived: onlyOld.length,
        restored: onlyOld.length,
      })
      for (const id of onlyOld) expect(await rowExists(id)).toBe(true)
    }
  })
})
