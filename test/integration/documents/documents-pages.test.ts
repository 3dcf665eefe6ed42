/**
 * `documents stuck` over more than two pages of non-terminal documents (PostgreSQL and MySQL, no messages, no worker): the
 * pages are read while the previous one is classified, the timestamps are read as text, a page's segments by one
 * parameter. Checked against an oracle computed from the rows as the drivers return them (Date objects): every
 * non-terminal document once, in Dify's order (created_at, position, id; many ties), its createdAt,
 * lastProgressAt (fractional seconds, progress columns), age and segment states.
 */
import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDifySchema } from '../../support/dify-schema.js'
import { loadRelease } from '../../support/oracles.js'
import { scratchMysql, scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { configFromVars } from '../../support/config.js'
import { openDb } from '../../../src/runtime/db.js'
import type { Db } from '../../../src/core/db.js'
import { loadConfig } from '../../../src/config/schema.js'
import { Runtime } from '../../../src/runtime/index.js'
import { documentsDeps } from '../../../src/documents/deps.js'
import { findStuck, PAGE } from '../../../src/documents/stuck.js'

// a quarter is terminal: over two pages remain
const N = PAGE * 3 + 37
const NOW = Date.UTC(2024, 4, 2, 0, 0, 0)
const STATUSES = ['waiting', 'parsing', 'cleaning', 'splitting', 'indexing', 'paused', 'completed', 'error']
const pad = (n: number, w = 2) => String(n).padStart(w, '0')
/** "2024-05-01 12:MM:SS[.fraction]" (text the column takes on both databases) */
const at = (i: number, plusSeconds = 0, fraction = '') => {
  const s = (i % 40) + plusSeconds
  return `2024-05-01 12:${pad(Math.floor(s / 60))}:${pad(s % 60)}${fraction}`
}

for (const dialect of ['postgres', 'mysql'] as const) {
  describe(`documents stuck over ${N} documents (${dialect})`, () => {
    let db: Scratch
    let s: ScratchRedis
    let d: Db
    let env: Record<string, string>
    const tenant = randomUUID()
    const user = randomUUID()

    beforeAll(async () => {
      db = dialect === 'postgres' ? await scratchPg('docspages') : await scratchMysql('docspages')
      s = await scratchRedis('docspages')
      env = { ...db.env, ...s.env }
      if (dialect === 'postgres') await loadRelease(db, 'postgres', '1.12.1')
      d = await openDb(configFromVars(db.env).db, { connectTimeoutMs: 5000 })
      if (dialect === 'mysql') await createDifySchema(d)
      const k = d.kysely
      await k
        .insertInto('tenants')
        .values({ id: tenant, name: 't' } as never)
        .execute()
      const datasets = [randomUUID(), randomUUID(), randomUUID()]
      await k
        .insertInto('datasets')
        .values(
          datasets.map((id) => ({
            id,
            tenant_id: tenant,
            name: `ds-${id.slice(0, 8)}`,
            provider: 'vendor',
            permission: 'only_me',
            created_by: user,
            indexing_technique: 'high_quality',
          })) as never,
        )
        .execute()
      const docs: Array<Record<string, unknown>> = []
      const segs: Array<Record<string, unknown>> = []
      for (let i = 0; i < N; i++) {
        const id = randomUUID()
        const fraction = i % 3 === 0 ? '.123456' : i % 3 === 1 ? '.5' : ''
        docs.push({
          id,
          tenant_id: tenant,
          dataset_id: datasets[i % 3],
          // ties on (created_at, position) across datasets: ordered by id
          position: i % 700,
          data_source_type: 'upload_file',
          batch: 'b1',
          name: `doc-${i}.txt`,
          created_from: 'web',
          created_by: user,
          created_at: at(i, 0, fraction),
          processing_started_at: i % 4 === 1 ? at(i, 90) : null,
          parsing_completed_at: i % 4 === 2 ? at(i, 3, '.999999') : null,
          splitting_completed_at: i % 8 === 3 ? at(i, 0, fraction) : null,
          indexing_status: STATUSES[i % STATUSES.length],
          is_paused: i % 17 === 0,
          doc_form: 'text_model',
        })
        const seg = (status: string) =>
          segs.push({
            id: randomUUID(),
            tenant_id: tenant,
            dataset_id: datasets[i % 3],
            document_id: id,
            position: segs.length,
            content: 'x',
            word_count: 1,
            tokens: 1,
            hit_count: 0,
            status,
            created_by: user,
          })
        if (i % 5 === 0) (seg('completed'), seg('completed'), seg('indexing'))
        if (i % 7 === 0) seg('completed')
      }
      for (let i = 0; i < docs.length; i += 500)
        await k
          .insertInto('documents')
          .values(docs.slice(i, i + 500) as never)
          .execute()
      for (let i = 0; i < segs.length; i += 500)
        await k
          .insertInto('document_segments')
          .values(segs.slice(i, i + 500) as never)
          .execute()
    }, 120_000)

    afterAll(async () => {
      await d?.close()
      await s?.drop()
      await db?.drop()
    })

    it('every non-terminal document once, in Dify order, with the times, ages and segments the rows give', async () => {
      // the oracle: the rows as the drivers parse them (Date), the last progress and the order computed here
      const rows = (await d.kysely
        .selectFrom('documents')
        .select([
          'id',
          'position',
          'indexing_status',
          'created_at',
          'processing_started_at',
          'parsing_completed_at',
          'cleaning_completed_at',
          'splitting_completed_at',
        ])
        .where('indexing_status', 'not in', ['completed', 'error'])
        .execute()) as unknown as Array<Record<string, unknown> & { id: string; position: number; created_at: Date }>
      const segRows = (await d.kysely
        .selectFrom('document_segments')
        .select(['document_id', 'status'])
        .execute()) as Array<{ document_id: string; status: string }>
      const byDoc = new Map<string, Record<string, number>>()
      for (const x of segRows) {
        const m = byDoc.get(x.document_id) ?? {}
        m[x.status] = (m[x.status] ?? 0) + 1
        byDoc.set(x.document_id, m)
      }
      const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
      rows.sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || a.position - b.position || cmp(a.id, b.id))
      const expected = rows.map((r) => {
        const times = [
          r.created_at,
          ...['processing_started_at', 'parsing_completed_at', 'cleaning_completed_at', 'splitting_completed_at'].map(
            (c) => r[c] as Date | null,
          ),
        ].filter((x): x is Date => x !== null)
        const last = new Date(Math.max(...times.map((x) => x.getTime())))
        const byStatus = byDoc.get(r.id)
        return {
          id: r.id,
          createdAt: r.created_at.toISOString(),
          lastProgressAt: last.toISOString(),
          ageSeconds: Math.round((NOW - last.getTime()) / 1000),
          segments: byStatus
            ? { total: Object.values(byStatus).reduce((x, n) => x + n, 0), byStatus }
            : { total: 0, byStatus: {} },
        }
      })
      expect(expected.length).toBeGreaterThan(2 * PAGE)

      const rt = new Runtime(loadConfig({ env, noDotenv: true, cwd: tmpdir() }))
      try {
        const r = await findStuck(await documentsDeps(rt), { workerTimeoutMs: 0, now: NOW })
        const got = r.documents.map((x) => ({
          id: x.id,
          createdAt: x.createdAt,
          lastProgressAt: x.lastProgressAt,
          ageSeconds: x.ageSeconds,
          segments: x.segments,
        }))
        expect(got).toEqual(expected)
        // the fraction is kept to the millisecond, as Date keeps it
        if (dialect === 'postgres') expect(got.some((x) => x.createdAt!.endsWith('.123Z'))).toBe(true)
        expect(got.some((x) => x.lastProgressAt !== x.createdAt)).toBe(true)
        expect(r.counts.orphaned + r.counts['failed-silently'] + r.counts.paused).toBe(expected.length)
      } finally {
        await rt.close()
      }
    }, 120_000)
  })
}
