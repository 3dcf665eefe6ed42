import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import StorageOrphans from '../../../commands/storage/orphans.js'
import { Runtime } from '../../../src/runtime/index.js'
import { loadConfig } from '../../../src/config/schema.js'
import { loadProfile } from '../../../src/dify/schema-version.js'
import { findOrphans } from '../../../src/storage/orphans.js'
import { runInProcess } from '../../support/in-process.js'
import { storageWorld, type StorageWorld } from '../../support/storage-world.js'

for (const dialect of ['postgres', 'mysql'] as const) {
  describe(`storage orphans: references to missing file rows (${dialect === 'postgres' ? 'PostgreSQL' : 'MariaDB'}, Dify 1.15.0)`, () => {
    let w: StorageWorld
    let rt: Runtime
    const dangling: Array<{ table: string; column: string; rowId: string; fileId: string }> = []
    beforeAll(async () => {
      w = await storageWorld(`stdangling${dialect}`, '1.15.0', dialect)
      rt = new Runtime(loadConfig({ env: w.env, noDotenv: true, cwd: tmpdir() }))
      const [t1] = w.tenants
      const account = randomUUID()
      // a valid reference of each form: an upload row and a tool row that exist
      const key = `upload_files/${t1}/${randomUUID()}.txt`
      const upload = await w.insert('upload_files', {
        tenant_id: t1,
        storage_type: 'opendal',
        key,
        name: 'ok.txt',
        size: 2,
        extension: 'txt',
        created_by: account,
      })
      w.put(key, 'ok')
      const doc = (fileId: string) =>
        w.insert('documents', {
          tenant_id: t1,
          dataset_id: randomUUID(),
          position: 1,
          data_source_type: 'upload_file',
          data_source_info: JSON.stringify({ upload_file_id: fileId }),
          name: 'doc.txt',
          created_from: 'web',
          created_by: account,
        })
      const msgFile = (fileId: string, transfer: string) =>
        w.insert('message_files', {
          message_id: randomUUID(),
          type: 'document',
          transfer_method: transfer,
          upload_file_id: fileId,
          created_by_role: 'account',
          created_by: account,
        })
      await doc(upload)
      await msgFile(upload, 'local_file')
      // dangling: ids with no upload_files / tool_files row
      const gone1 = randomUUID()
      const gone2 = randomUUID()
      dangling.push({ table: 'documents', column: 'data_source_info', rowId: await doc(gone1), fileId: gone1 })
      dangling.push({
        table: 'message_files',
        column: 'upload_file_id',
        rowId: await msgFile(gone2, 'tool_file'),
        fileId: gone2,
      })
      // a document whose source is not a file (no upload_file_id): nothing to report
      await w.insert('documents', {
        tenant_id: t1,
        dataset_id: randomUUID(),
        position: 2,
        data_source_type: 'notion_import',
        data_source_info: JSON.stringify({ notion_page_id: 'p' }),
        name: 'n',
        created_from: 'web',
        created_by: account,
      })
    }, 120_000)
    afterAll(async () => {
      await rt?.close()
      await w?.close()
    })

    it('lists exactly the references to missing file rows, as their own kind; the storage is not touched', async () => {
      const db = await rt.db()
      const r = await findOrphans(
        { db, profile: await loadProfile(db), storage: await rt.storage() },
        { minAgeSeconds: 86_400 },
      )
      const key = (d: { table: string; rowId: string }) => `${d.table}:${d.rowId}`
      expect(
        r.dangling
          .map((d) => ({ table: d.table, column: d.column, rowId: d.rowId, fileId: d.fileId }))
          .sort((a, b) => key(a).localeCompare(key(b))),
      ).toEqual([...dangling].sort((a, b) => key(a).localeCompare(key(b))))
      expect(r.dangling.every((d) => d.type === 'dangling')).toBe(true)
      expect(r.summary.dangling).toBe(2)
      // the other findings are unchanged (the world's three old orphans and one missing object)
      expect(r.summary).toMatchObject({ orphans: 3, missing: 1 })
    })

    it('the command prints them (NDJSON line type "dangling", human line) and exits 8', async () => {
      const j = await runInProcess(StorageOrphans, ['--json', '--min-age', '365d'], { env: w.env })
      expect(j.code).toBe(8)
      const lines = j.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(
        lines
          .filter((l) => l.type === 'dangling')
          .map((l) => l.fileId)
          .sort(),
      ).toEqual(dangling.map((d) => d.fileId).sort())
      expect(lines.at(-1)).toMatchObject({ type: 'summary', dangling: 2 })
      const h = await runInProcess(StorageOrphans, ['--min-age', '365d'], { env: w.env })
      expect(h.stdout).toContain(
        `dangling documents.data_source_info of ${dangling[0]!.rowId} → file ${dangling[0]!.fileId}`,
      )
      expect(h.stdout).toContain('2 references to a file id with no file row')
    })
  })
}
