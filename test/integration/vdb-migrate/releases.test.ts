import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { genCollectionNameById } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore } from '../../../src/vector/store.js'
import { runCli } from '../../support/cli.js'
import { loadRelease } from '../../support/oracles.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { unitVector } from '../../support/vdb-seed.js'
import { DIM, dump, seedWorld, type World } from '../../support/vdb-migrate-world.js'
import { pgvectorAvailable, pgvectorVars, writeEnvFile } from '../../support/pgvector.js'
import { configFromVars as cfg } from '../../support/config.js'

/**
 * `vdb check` and `vdb-migrate` on databases created by Dify 1.13.0, 1.14.0 and 1.15.0 (the oracles' own schema of
 * each release, test/support/oracles.ts), next to 1.12.1 as the baseline, with real pgvector and Redis. Every
 * release is seeded with the same world (text, QA, parent-child, multimodal, a summary, a gap, annotations with an
 * empty question) and must give the same check and the same migration: the live set and the vector layouts did
 * not change in 1.13–1.15 (docs/vector-stores.md "Per release"). vdb-migrate passes --force-version: the CLI's
 * write window ends at 1.12.1 on this branch (another change widens it).
 */

const pgvectorUp = await pgvectorAvailable()
if (!pgvectorUp) console.warn('SKIPPED: pgvector missing; run scripts/services/pgvector.sh')

const RELEASES = ['1.12.1', '1.13.0', '1.14.0', '1.15.0'] as const
const ROLES = ['text', 'pc', 'mm', 'gap', 'app'] as const

interface Outcome {
  check: Record<string, unknown>
  migrate: Record<string, unknown>
}

describe.skipIf(!pgvectorUp)(
  'vdb check and vdb-migrate on Dify 1.13.0, 1.14.0, 1.15.0 databases (real pgvector, Redis)',
  () => {
    const cleanup: Array<() => Promise<unknown>> = []
    afterAll(async () => {
      for (const f of cleanup.reverse()) await f().catch(() => {})
    })
    const results = new Map<string, Outcome>()

    async function runRelease(release: string): Promise<Outcome> {
      const tag = `vdbrel${release.replace(/\./g, '')}`
      const a: Scratch = await scratchPg(tag)
      cleanup.push(() => a.drop())
      const b: Scratch = await scratchPg(`${tag}b`)
      cleanup.push(() => b.drop())
      const redis: ScratchRedis = await scratchRedis(tag)
      cleanup.push(() => redis.drop())
      await loadRelease(a, 'postgres', release)
      const c = new pg.Client({ ...PG, database: a.name })
      await c.connect()
      cleanup.push(() => c.end())
      const src: VectorStore = await openVectorStore(cfg({ VECTOR_STORE: 'pgvector', ...pgvectorVars(a.name) }))
      cleanup.push(() => src.close())
      const dst: VectorStore = await openVectorStore(cfg({ VECTOR_STORE: 'pgvector', ...pgvectorVars(b.name) }))
      cleanup.push(() => dst.close())
      const w: World = await seedWorld(c, src, 'pgvector')
      // a summary of a live segment (summary index, Dify 1.12.0+), its vector in the store
      const doc = (
        await c.query(
          `select id from documents where dataset_id = $1 and doc_form = 'text_model' and enabled and not archived limit 1`,
          [w.ids.text],
        )
      ).rows[0].id
      const seg = (
        await c.query(`select id from document_segments where document_id = $1 order by position limit 1`, [doc])
      ).rows[0].id
      const summaryText = `summary of ${seg}`
      const node = await w.seeder.summary(w.ids.text, doc, seg, summaryText)
      w.live.get(w.ids.text)!.push(node)
      await src.upsert(w.sourceTargets.get(w.ids.text)!, [
        {
          id: node,
          docId: node,
          text: summaryText,
          vector: unitVector(summaryText, DIM),
          metadata: {
            doc_id: node,
            doc_hash: 'h',
            dataset_id: w.ids.text,
            document_id: doc,
            original_chunk_id: seg,
            doc_type: 'text',
            is_summary: true,
          },
        },
      ])
      // an annotation whose question is empty: Dify embeds its content (question_text); the cache holds that text
      const emptyQ = (
        await c.query(
          `insert into message_annotations (id, app_id, question, content, account_id) values (gen_random_uuid(), $1, '', $2, $3) returning id`,
          [w.ids.app, `content of ${w.ids.app}`, w.seeder.userId],
        )
      ).rows[0].id
      w.live.get(w.ids.app)!.push(emptyQ)
      await w.seeder.cache([{ text: `content of ${w.ids.app}`, vector: unitVector(`content of ${w.ids.app}`, DIM) }])

      const env = { ...a.env, ...redis.env, VECTOR_STORE: 'pgvector', ...pgvectorVars(a.name) }
      const chk = await runCli(['vdb', 'check', '--json', '--scope', 'all', '--sample', '5'], {
        env,
        timeoutMs: 120_000,
      })
      expect(chk.code, `${release}: ${chk.stderr}`).toBe(8)
      const byId = new Map((chk.json.targets as Array<Record<string, unknown> & { id: string }>).map((t) => [t.id, t]))
      const check: Record<string, unknown> = {}
      for (const r of ROLES) {
        const t = byId.get(w.ids[r]) as unknown as Record<string, unknown> & {
          store: Record<string, unknown>
          sample: Record<string, unknown>
        }
        expect(t, `${release} ${r}`).toBeDefined()
        check[r] = {
          status: t.status,
          live: t.live,
          stored: t.stored,
          missing: t.missing,
          orphaned: t.orphaned,
          duplicated: t.duplicated,
          offNorm: t.offNorm,
          sampleMismatched: t.sample.mismatched,
          type: t.store.type,
          collection: t.store.collection === genCollectionNameById(w.ids[r]),
        }
      }
      expect(byId.has(w.ids.economy)).toBe(false)

      const sourceEnv = writeEnvFile({ VECTOR_STORE: 'pgvector', ...pgvectorVars(a.name) }, tag)
      const mEnv = { ...a.env, ...redis.env, VECTOR_STORE: 'pgvector', ...pgvectorVars(b.name) }
      const args = ['vdb-migrate', '--json', '--from', 'pgvector', '--source-env-file', sourceEnv]
      const m = await runCli([...args, '--force-version'], { env: mEnv, timeoutMs: 180_000 })
      expect(m.code, `${release}: ${m.stderr}`).toBe(7) // the gap dataset is incomplete
      const units = new Map((m.json.units as Array<Record<string, unknown> & { id: string }>).map((u) => [u.id, u]))
      const migrate: Record<string, unknown> = {}
      for (const r of ROLES) {
        const u = units.get(w.ids[r])!
        migrate[r] = {
          outcome: u.outcome,
          live: u.live,
          fromSource: u.fromSource,
          fromCache: u.fromCache,
          missing: u.missing,
          orphans: u.orphans,
          switched: u.switched,
        }
        if (u.outcome === 'migrated') {
          const got = await dump(dst, { collection: genCollectionNameById(w.ids[r]) })
          expect([...got.keys()].sort(), `${release} ${r}`).toEqual([...w.live.get(w.ids[r])!].sort())
        }
      }
      // the summary vector is migrated with its metadata as stored
      const got = await dump(dst, { collection: genCollectionNameById(w.ids.text) })
      expect(got.get(node)!.metadata).toMatchObject({ is_summary: true, original_chunk_id: seg, doc_type: 'text' })
      // the empty-question annotation is indexed by its content
      const ann = (await dump(dst, { collection: genCollectionNameById(w.ids.app) })).get(emptyQ)
      expect(ann?.text, release).toBe(`content of ${w.ids.app}`)
      return { check, migrate }
    }

    it.each(RELEASES)(
      'Dify %s: vdb check and vdb-migrate give the baseline result',
      async (release) => {
        const o = await runRelease(release)
        results.set(release, o)
        const base = results.get('1.12.1')!
        expect(o.check).toEqual(base.check)
        expect(o.migrate).toEqual(base.migrate)
        if (release === '1.12.1') {
          // the baseline itself, spelled out
          expect(o.check.text).toMatchObject({
            status: 'drift',
            missing: 1,
            orphaned: 3,
            live: { total: 8, text: 6, qa: 1, summary: 1 },
          })
          expect(o.check.app).toMatchObject({ missing: 3 })
          expect(o.migrate.text).toMatchObject({ outcome: 'migrated', fromCache: 1, missing: 0 })
          expect(o.migrate.gap).toMatchObject({ outcome: 'incomplete', missing: 1 })
          expect(o.migrate.app).toMatchObject({ outcome: 'migrated', fromCache: 3, missing: 0 })
        }
      },
      300_000,
    )
  },
)
