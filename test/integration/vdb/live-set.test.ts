import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../../src/core/db.js'
import { openPglite } from '../../../src/runtime/pglite.js'
import { profileFor } from '../../../src/dify/profile.js'
import {
  annotationTargets,
  datasetTargets,
  findTarget,
  liveItems,
  type LiveItem,
  type LiveSetDeps,
} from '../../../src/dify/live-set.js'
import { indexStructJson } from '../../../src/dify/collections.js'
import { createDifySchema, loadOracleSchema, openScratchDb } from '../../support/dify-schema.js'
import { scratchMysql, scratchPg, type Scratch } from '../../support/scratch.js'
import { DifySeeder } from '../../support/vdb-seed.js'

async function all(deps: LiveSetDeps, id: string, batchSize = 2): Promise<LiveItem[]> {
  const t = await findTarget(deps, id)
  const out: LiveItem[] = []
  for await (const b of liveItems(deps, t!, { batchSize })) out.push(...b)
  return out
}

/** Dify's 1.12 schema on each metadata database Dify supports: PostgreSQL (the oracle), MariaDB, PGlite. */
async function open(backend: string): Promise<{ db: Db; drop: () => Promise<void> }> {
  if (backend === 'postgresql') {
    const sc = await scratchPg('liveset')
    loadOracleSchema(sc.name, '788d3099ae3a')
    const db = await openScratchDb(sc.env)
    return {
      db,
      drop: async () => {
        await db.close()
        await sc.drop()
      },
    }
  }
  if (backend === 'mysql') {
    const sc: Scratch = await scratchMysql('liveset')
    const db = await openScratchDb(sc.env)
    await createDifySchema(db)
    return {
      db,
      drop: async () => {
        await db.close()
        await sc.drop()
      },
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'dops-liveset-'))
  const db = await openPglite(dir)
  await createDifySchema(db)
  return {
    db,
    drop: async () => {
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

describe.each(['postgresql', 'mysql', 'pglite'])('live set on %s (Dify 1.12 schema)', (backend) => {
  let drop: () => Promise<void>
  let kdb: Db
  let deps: LiveSetDeps
  const ids: Record<string, string> = {}
  const expected: Record<string, string[]> = { text: [], pc: [], mm: [], ann: [] }

  beforeAll(async () => {
    ;({ db: kdb, drop } = await open(backend))
    const s = new DifySeeder(kdb)
    const bind = await s.binding()
    // text + QA dataset with every kind of non-live row
    ids.text = await s.dataset({ indexStruct: indexStructJson('pgvector', 'Vector_index_x_Node'), bindingId: bind.id })
    const d1 = await s.document(ids.text)
    const segs = []
    for (let i = 0; i < 5; i++) segs.push(await s.segment(ids.text, d1, `text ${i}`))
    expected.text!.push(...segs.map((x) => x.nodeId))
    const segOff = (await s.segment(ids.text, d1, 'disabled segment', { enabled: false })).id
    await s.segment(ids.text, d1, 'indexing segment', { status: 'indexing' })
    const noNode = await s.segment(ids.text, d1, 'no node', { nodeId: null })
    const dq = await s.document(ids.text, { docForm: 'qa_model' })
    const qa = await s.segment(ids.text, dq, 'question?', { answer: 'the answer' })
    expected.text!.push(qa.nodeId)
    const dDisabled = await s.document(ids.text, { enabled: false })
    await s.segment(ids.text, dDisabled, 'in disabled document')
    const dArchived = await s.document(ids.text, { archived: true })
    await s.segment(ids.text, dArchived, 'in archived document')
    const dErr = await s.document(ids.text, { status: 'error' })
    await s.segment(ids.text, dErr, 'in failed document')
    // summaries: a live one, an older one of the same chunk, one of a disabled segment, one not completed
    const seg0 = segs[0]!.id
    await s.summary(ids.text, d1, seg0, 'old summary')
    await new Promise((r) => setTimeout(r, 1100)) // created_at has second precision on MySQL
    expected.text!.push(await s.summary(ids.text, d1, seg0, 'new summary'))
    await s.summary(ids.text, d1, segOff, 'summary of a disabled segment')
    const seg1 = segs[1]!.id
    await s.summary(ids.text, d1, seg1, 'generating', { status: 'generating' })
    // more pages of summaries (batchSize 2), one of them of a live segment without an index_node_id
    for (const x of [segs[2]!, segs[3]!, segs[4]!, noNode])
      expected.text!.push(await s.summary(ids.text, d1, x.id, `summary of ${x.id}`))

    // parent-child: children only
    ids.pc = await s.dataset()
    const dp = await s.document(ids.pc, { docForm: 'hierarchical_model' })
    for (let p = 0; p < 2; p++) {
      const parent = await s.segment(ids.pc, dp, `parent ${p}`)
      for (let k = 0; k < 3; k++) expected.pc!.push((await s.child(ids.pc, dp, parent.id, `child ${p}.${k}`)).nodeId)
    }
    // multimodal: segment + image
    ids.mm = await s.dataset({ multimodal: true })
    const dm = await s.document(ids.mm)
    const sm = await s.segment(ids.mm, dm, 'figure caption')
    expected.mm!.push(sm.nodeId, await s.image(ids.mm, dm, sm.id, 'figure.png'))
    // more pages (batchSize 2): two images on one segment, a segment without images, one without an index_node_id,
    // and a disabled segment whose image is not live
    const sm2 = await s.segment(ids.mm, dm, 'two figures')
    expected.mm!.push(
      sm2.nodeId,
      await s.image(ids.mm, dm, sm2.id, 'a.png'),
      await s.image(ids.mm, dm, sm2.id, 'b.png'),
    )
    expected.mm!.push((await s.segment(ids.mm, dm, 'no figure')).nodeId)
    const smNull = await s.segment(ids.mm, dm, 'no node', { nodeId: null })
    expected.mm!.push(await s.image(ids.mm, dm, smNull.id, 'c.png'))
    const smOff = await s.segment(ids.mm, dm, 'disabled', { enabled: false })
    await s.image(ids.mm, dm, smOff.id, 'off.png')
    // economy and external datasets have no vectors
    ids.economy = await s.dataset({ technique: 'economy' })
    // annotations
    const abind = await s.binding({ type: 'annotation' })
    ids.app = await s.app()
    await s.annotationSetting(ids.app, abind.id)
    for (let i = 0; i < 3; i++) expected.ann!.push(await s.annotation(ids.app, `q${i}`))
    ids.appOff = await s.app()
    await s.annotation(ids.appOff, 'not enabled')

    deps = { db: kdb, profile: profileFor('788d3099ae3a'), vectorStore: 'chroma' }
  })
  afterAll(async () => {
    await drop?.()
  })

  it('text/QA dataset: live documents and segments, QA answer, newest completed summary of live segments', async () => {
    const items = await all(deps, ids.text!)
    expect(items.map((i) => i.docId).sort()).toEqual([...expected.text!].sort())
    const qa = items.find((i) => i.kind === 'qa')!
    expect(qa.text).toBe('question?')
    expect(qa.metadata).toMatchObject({ answer: 'the answer', dataset_id: ids.text })
    const sums = items.filter((i) => i.kind === 'summary').map((i) => i.text)
    expect(sums).toContain('new summary')
    expect(sums).not.toContain('old summary')
    const sum = items.find((i) => i.text === 'new summary')!
    expect(sum.metadata).toMatchObject({ is_summary: true, doc_type: 'text' })
    const txt = items.find((i) => i.kind === 'text')!
    expect(Object.keys(txt.metadata).sort()).toEqual(['dataset_id', 'doc_hash', 'doc_id', 'document_id'])
  })

  it('summaries paged by segment (PostgreSQL with many summaries) and by summary id give the same items', async () => {
    const t = (await findTarget(deps, ids.text!))!
    const summaries = async (summariesBySegment: boolean) => {
      const out: LiveItem[] = []
      for await (const b of liveItems(deps, t, { batchSize: 2, summariesBySegment }))
        out.push(...b.filter((i) => i.kind === 'summary'))
      return out.sort((a, b) => a.docId.localeCompare(b.docId))
    }
    const byId = await summaries(false)
    expect(byId).toHaveLength(5)
    expect(byId.map((i) => i.text)).toContain('new summary')
    expect(await summaries(true)).toEqual(byId)
  })

  it('summaries are not part of the live set before 1.12.0', async () => {
    const items = await all({ ...deps, profile: profileFor('d57accd375ae') }, ids.text!)
    expect(items.filter((i) => i.kind === 'summary')).toEqual([])
  })

  it('parent-child: the child chunks, never the parents', async () => {
    const items = await all(deps, ids.pc!)
    expect(items.every((i) => i.kind === 'child')).toBe(true)
    expect(items.map((i) => i.docId).sort()).toEqual([...expected.pc!].sort())
  })

  it('multimodal: the image vector with doc_type image and the file name as text', async () => {
    const items = await all(deps, ids.mm!)
    expect(items.map((i) => i.docId).sort()).toEqual([...expected.mm!].sort())
    const img = items.find((i) => i.text === 'figure.png')!
    expect(img.kind).toBe('image')
    expect(img.metadata).toEqual({
      doc_id: img.docId,
      doc_hash: '',
      document_id: img.documentId,
      dataset_id: ids.mm,
      doc_type: 'image',
    })
  })

  it('images paged by segment (PostgreSQL) and by binding id give the same items', async () => {
    const t = (await findTarget(deps, ids.mm!))!
    const images = async (imagesBySegment: boolean) => {
      const out: LiveItem[] = []
      for await (const b of liveItems(deps, t, { batchSize: 2, imagesBySegment }))
        out.push(...b.filter((i) => i.kind === 'image'))
      return out.sort((a, b) => a.docId.localeCompare(b.docId))
    }
    const byId = await images(false)
    expect(byId.map((i) => i.text).sort()).toEqual(['a.png', 'b.png', 'c.png', 'figure.png'])
    expect(await images(true)).toEqual(byId)
  })

  it('targets: high_quality datasets only; where Dify looks (index_struct, else VECTOR_STORE naming)', async () => {
    const ts = []
    for await (const t of datasetTargets(deps)) ts.push(t)
    expect(ts.map((t) => t.id).sort()).toEqual([ids.text, ids.pc, ids.mm].sort())
    const t1 = ts.find((t) => t.id === ids.text)!
    expect(t1).toMatchObject({
      storeType: 'pgvector',
      storeTypeFrom: 'index_struct',
      collection: 'Vector_index_x_Node',
      physicalName: 'embedding_vector_index_x_node',
    })
    const t2 = ts.find((t) => t.id === ids.pc)!
    expect(t2.storeType).toBe('chroma')
    expect(t2.collection).toBe(`vector_index_${ids.pc!.replace(/-/g, '_')}_node`)
  })

  it('annotations: apps with annotation reply enabled, every annotation question', async () => {
    const apps = []
    for await (const t of annotationTargets(deps)) apps.push(t)
    expect(apps.map((a) => a.id)).toEqual([ids.app])
    const items = await all(deps, ids.app!)
    expect(items.map((i) => i.docId).sort()).toEqual([...expected.ann!].sort())
    expect(items[0]!.metadata).toEqual({ annotation_id: items[0]!.docId, app_id: ids.app, doc_id: items[0]!.docId })
  })

  it('Qdrant: the binding collection shared, group_id = dataset id', async () => {
    const t = await findTarget({ ...deps, vectorStore: 'qdrant' }, ids.pc!)
    expect(t).toMatchObject({ storeType: 'qdrant', groupId: ids.pc })
  })
})
