import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { genCollectionNameById, indexStructJson } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorRecord, VectorStore, VectorTarget } from '../../../src/vector/store.js'
import { runCli } from '../../support/cli.js'
import { profileFor } from '../../../src/dify/profile.js'
import { annotationTargets, liveItems } from '../../../src/dify/live-set.js'
import { openDb } from '../../../src/runtime/db.js'
import { loadRelease } from '../../support/oracles.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { DifySeeder, unitVector } from '../../support/vdb-seed.js'
import { dump } from '../../support/vdb-migrate-world.js'
import { pgvectorAvailable, pgvectorVars } from '../../support/pgvector.js'
import { configFromVars as cfg } from '../../support/config.js'

/**
 * What Dify's own `flask vdb-migrate` does, checked through the built CLI on a Dify 1.12.1 database with real
 * pgvector and Redis (issue #17 items 2, 5, 7):
 * - a dataset whose index_struct is NULL is migrated (Dify serves it from VECTOR_STORE under
 *   gen_collection_name_by_id and writes index_struct), not skipped;
 * - Dify's pgvector Redis keys are `vector_indexing_<name>` and `vector_indexing_<name>_lock` (pgvector.py);
 * - annotation vectors embed `question_text` (the question, else the content; models/model.py from 1.11.3).
 */

const DIM = 8
const pgvectorUp = await pgvectorAvailable()
if (!pgvectorUp) console.warn('SKIPPED: pgvector missing; run scripts/services/pgvector.sh')

describe.skipIf(!pgvectorUp)(
  'vdb-migrate as Dify: NULL index_struct, pgvector Redis keys, annotation question_text (pgvector, Redis)',
  () => {
    let db: Scratch
    let redis: ScratchRedis
    let c: pg.Client
    let store: VectorStore
    let env: Record<string, string>
    let s: DifySeeder

    beforeAll(async () => {
      db = await scratchPg('vdbparity')
      await loadRelease(db, 'postgres', '1.12.1')
      redis = await scratchRedis('vdbparity')
      c = new pg.Client({ ...PG, database: db.name })
      await c.connect()
      store = await openVectorStore(cfg({ VECTOR_STORE: 'pgvector', ...pgvectorVars(db.name) }))
      env = { ...db.env, ...redis.env, VECTOR_STORE: 'pgvector', ...pgvectorVars(db.name) }
      s = new DifySeeder(c)
    })
    afterAll(async () => {
      await store?.close()
      await c?.end()
      await db?.drop()
      await redis?.drop()
    })

    const rec = (docId: string, text: string, metadata: Record<string, unknown>): VectorRecord => ({
      id: docId,
      docId,
      text,
      metadata: { ...metadata, doc_id: docId },
      vector: unitVector(text, DIM),
    })
    const indexStruct = async (id: string) =>
      (await c.query(`select index_struct from datasets where id = $1`, [id])).rows[0].index_struct as string | null

    it("a dataset without index_struct: vdb check looks where Dify does; vdb-migrate completes it in place, writes index_struct and clears Dify's pgvector keys", async () => {
      const id = await s.dataset({ indexStruct: null })
      const doc = await s.document(id)
      const name = genCollectionNameById(id)
      const t: VectorTarget = { collection: name }
      const live: string[] = []
      const recs: VectorRecord[] = []
      let cacheText = ''
      for (let i = 0; i < 4; i++) {
        const text = `segment ${i} of ${id}`
        const seg = await s.segment(id, doc, text)
        live.push(seg.nodeId)
        if (i === 3)
          cacheText = text // only in Dify's embeddings cache
        else recs.push(rec(seg.nodeId, text, { doc_hash: 'h', document_id: doc, dataset_id: id }))
      }
      const orphan = randomUUID()
      recs.push(rec(orphan, 'an orphan', { document_id: doc, dataset_id: id }))
      // where Dify itself put them: VECTOR_STORE, gen_collection_name_by_id (its factory, index_struct NULL)
      await store.ensureCollection(t, DIM)
      await store.upsert(t, recs)
      await s.cache([{ text: cacheText, vector: unitVector(cacheText, DIM) }])
      // Dify's keys for this collection (pgvector.py: cache key, and the lock named `<cache key>_lock`)
      const cacheKey = `${redis.prefix}vector_indexing_${name}`
      const lockKey = `${redis.prefix}vector_indexing_${name}_lock`
      await redis.client.set(cacheKey, '1')
      await redis.client.set(lockKey, 'held-by-a-dead-worker')

      const before = await runCli(['vdb', 'check', '--json', '--dataset', id, '--sample', '0'], {
        env,
        timeoutMs: 60_000,
      })
      expect(before.code, before.stderr).toBe(8)
      expect(before.json.targets[0]).toMatchObject({
        status: 'drift',
        missing: 1,
        orphaned: 1,
        store: { type: 'pgvector', typeFrom: 'VECTOR_STORE', collection: name, indexStruct: null },
      })

      const r = await runCli(['vdb-migrate', '--json', '--scope', 'knowledge', '--dataset', id], {
        env,
        timeoutMs: 120_000,
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.units[0]).toMatchObject({
        kind: 'dataset',
        id,
        outcome: 'migrated',
        kept: 3,
        fromCache: 1,
        missing: 0,
        orphans: 1,
        verified: true,
        switched: true,
      })
      expect(r.json.units[0].target).toMatchObject({ type: 'pgvector', collection: name })
      expect(await indexStruct(id)).toBe(indexStructJson('pgvector', name))
      const got = await dump(store, t)
      expect([...got.keys()].sort()).toEqual([...live].sort())
      expect(got.get(live[3]!)!.text).toBe(cacheText)
      expect(await redis.client.exists(cacheKey, lockKey)).toBe(0)
      // the audit line names the stores: the target (completed in place here: no other source was opened)
      const audit = await redis.client.xrange(`${redis.prefix}dify_ops:audit`, '-', '+')
      const line = JSON.parse(audit.at(-1)![1][1]!)
      expect(line.command).toBe('vdb-migrate')
      expect(r.json.sources).toEqual([])
      expect(line.target.vectorStores).toEqual([`pgvector@${r.json.target.location} (target)`])
      expect(r.json.target.location).toContain(db.name)

      const after = await runCli(['vdb', 'check', '--json', '--dataset', id, '--sample', '0'], {
        env,
        timeoutMs: 60_000,
      })
      expect(after.code, after.stderr).toBe(0)
      expect(after.json.targets[0]).toMatchObject({
        status: 'consistent',
        store: { typeFrom: 'index_struct', collection: name },
      })
      // Dify's rule now skips it: index_struct.type is the target
      const again = await runCli(['vdb-migrate', '--json', '--scope', 'knowledge', '--dataset', id], {
        env,
        timeoutMs: 60_000,
      })
      expect(again.code, again.stderr).toBe(0)
      expect(again.json.units[0]).toMatchObject({ outcome: 'skipped' })
    })

    it('a dataset without index_struct and --dry-run: planned, nothing written', async () => {
      const id = await s.dataset({ indexStruct: null })
      const doc = await s.document(id)
      const seg = await s.segment(id, doc, `only ${id}`)
      const t: VectorTarget = { collection: genCollectionNameById(id) }
      await store.ensureCollection(t, DIM)
      await store.upsert(t, [
        rec(seg.nodeId, `only ${id}`, { document_id: doc, dataset_id: id }),
        rec(randomUUID(), 'stale', {}),
      ])
      const r = await runCli(['vdb-migrate', '--json', '--dry-run', '--scope', 'knowledge', '--dataset', id], {
        env,
        timeoutMs: 60_000,
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.units[0]).toMatchObject({ outcome: 'planned', kept: 1, orphans: 1 })
      expect(await indexStruct(id)).toBeNull()
      expect(await store.count(t)).toBe(2)
    })

    it('annotations embed question_text: an empty question is indexed by its content (the cache is keyed by that text)', async () => {
      const bind = await s.binding({ type: 'annotation' })
      const app = await s.app()
      await s.annotationSetting(app, bind.id)
      const withQuestion = randomUUID()
      const emptyQuestion = randomUUID()
      await c.query(
        `insert into message_annotations (id, app_id, question, content, account_id) values ($1, $2, $3, $4, $5), ($6, $2, '', $7, $5)`,
        [withQuestion, app, `what is ${app}?`, 'an app', s.userId, emptyQuestion, `the answer of ${app}`],
      )
      await s.cache([
        { text: `what is ${app}?`, vector: unitVector(`what is ${app}?`, DIM) },
        { text: `the answer of ${app}`, vector: unitVector(`the answer of ${app}`, DIM) },
      ])
      const r = await runCli(['vdb-migrate', '--json', '--scope', 'annotation', '--app', app], {
        env,
        timeoutMs: 120_000,
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.json.units[0]).toMatchObject({
        kind: 'annotation',
        id: app,
        outcome: 'migrated',
        fromCache: 2,
        missing: 0,
      })
      const got = await dump(store, { collection: genCollectionNameById(app) })
      expect(got.get(emptyQuestion)!.text).toBe(`the answer of ${app}`)
      expect(got.get(emptyQuestion)!.metadata).toMatchObject({
        annotation_id: emptyQuestion,
        app_id: app,
        doc_id: emptyQuestion,
      })
      expect(got.get(withQuestion)!.text).toBe(`what is ${app}?`)
      // per release: question_text exists from 1.11.3 (head 905527cc8fd3); 1.11.2 (03ea244985ce) embeds the question
      const kdb = await openDb(
        {
          type: 'postgresql',
          host: PG.host,
          port: PG.port,
          user: PG.user,
          password: '',
          database: db.name,
          extras: {},
        } as never,
        { connectTimeoutMs: 5000 },
      )
      try {
        const texts = async (revision: string) => {
          const deps = { db: kdb, profile: profileFor(revision), vectorStore: 'pgvector' }
          const out = new Map<string, string>()
          for await (const t of annotationTargets(deps, { appIds: [app] }))
            for await (const b of liveItems(deps, t)) for (const it of b) out.set(it.docId, it.text)
          return out
        }
        expect((await texts('905527cc8fd3')).get(emptyQuestion)).toBe(`the answer of ${app}`)
        expect((await texts('03ea244985ce')).get(emptyQuestion)).toBe('')
        expect((await texts('d9e8f7a6b5c4')).get(emptyQuestion)).toBe(`the answer of ${app}`)
      } finally {
        await kdb.close()
      }
    })
  },
)
