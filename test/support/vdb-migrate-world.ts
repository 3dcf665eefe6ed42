import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { classPrefixForStore, genCollectionNameById, indexStructJson } from '../../src/dify/collections.js'
import type { VectorRecord, VectorStore, VectorTarget } from '../../src/vector/store.js'
import { DifySeeder, unitVector } from './vdb-seed.js'

export const DIM = 8

/**
 * A seeded Dify deployment for vdb-migrate tests: datasets of every shape with their vectors in `source`
 * (a store of type `sourceType`), non-live vectors in the source (disabled/archived documents, a parent chunk,
 * an orphan), one vector only in the embeddings cache (pickled by /usr/bin/python3, protocol 5), one nowhere,
 * and an annotation app whose vectors are in the cache (and in the source when `annotationsInSource`).
 */
export interface World {
  seeder: DifySeeder
  ids: { text: string; pc: string; mm: string; gap: string; economy: string; app: string }
  /** live doc_ids per dataset/app id */
  live: Map<string, string[]>
  /** source target per dataset/app id */
  sourceTargets: Map<string, VectorTarget>
  /** the doc_id resolved from the cache, and the one that is nowhere */
  cacheOnly: string
  nowhere: string
  /** index_struct as seeded per dataset */
  indexStructs: Map<string, string>
}

export async function seedWorld(
  c: pg.Client,
  source: VectorStore,
  sourceType: string,
  o: { annotationsInSource?: boolean } = {},
): Promise<World> {
  const s = new DifySeeder(c)
  const live = new Map<string, string[]>()
  const sourceTargets = new Map<string, VectorTarget>()
  const indexStructs = new Map<string, string>()
  const bind = await s.binding()
  const cacheRows: Array<{ text: string; vector: number[] }> = []

  const newDataset = async (extra: { multimodal?: boolean } = {}) => {
    const id = randomUUID()
    const coll = classPrefixForStore(sourceType, id, { bindingCollectionName: bind.collection })!
    const is = indexStructJson(sourceType, coll)
    await s.dataset({ id, indexStruct: is, bindingId: bind.id, ...extra })
    const t: VectorTarget = sourceType === 'qdrant' ? { collection: coll, groupId: id } : { collection: coll }
    sourceTargets.set(id, t)
    indexStructs.set(id, is)
    live.set(id, [])
    return id
  }
  const rec = (docId: string, text: string, metadata: Record<string, unknown>): VectorRecord => ({
    id: docId,
    docId,
    text,
    metadata: { ...metadata, doc_id: docId },
    vector: unitVector(text, DIM),
  })
  const write = async (id: string, recs: VectorRecord[]) => {
    const t = sourceTargets.get(id)!
    await source.ensureCollection(t, DIM)
    await source.upsert(t, recs)
  }
  const segMeta = (ds: string, doc: string, text: string, nodeId: string, extra: Record<string, unknown> = {}) =>
    rec(nodeId, text, {
      doc_hash: `h-${nodeId.slice(0, 6)}`,
      document_id: doc,
      dataset_id: ds,
      source: 'upload_file',
      ...extra,
    })

  // 1. text + QA, with non-live vectors still in the store
  const text = await newDataset()
  const d1 = await s.document(text)
  const recs: VectorRecord[] = []
  let cacheOnly = ''
  for (let i = 0; i < 6; i++) {
    const content = `text segment ${i} of ${text}`
    const seg = await s.segment(text, d1, content)
    live.get(text)!.push(seg.nodeId)
    if (i === 5) {
      cacheOnly = seg.nodeId
      cacheRows.push({ text: content, vector: unitVector(content, DIM) })
    } else recs.push(segMeta(text, d1, content, seg.nodeId))
  }
  const dq = await s.document(text, { docForm: 'qa_model' })
  const qa = await s.segment(text, dq, `question of ${text}?`, { answer: 'the answer' })
  live.get(text)!.push(qa.nodeId)
  recs.push(segMeta(text, dq, `question of ${text}?`, qa.nodeId, { answer: 'the answer' }))
  const dOff = await s.document(text, { enabled: false })
  const off = await s.segment(text, dOff, 'in a disabled document')
  recs.push(segMeta(text, dOff, 'in a disabled document', off.nodeId))
  const dArc = await s.document(text, { archived: true })
  const arc = await s.segment(text, dArc, 'in an archived document')
  recs.push(segMeta(text, dArc, 'in an archived document', arc.nodeId))
  recs.push(segMeta(text, d1, 'an orphan nobody deleted', randomUUID()))
  await write(text, recs)

  // 2. parent-child: children live; a parent vector (as Dify 1.11's vdb-migrate wrote) is not
  const pc = await newDataset()
  const dp = await s.document(pc, { docForm: 'hierarchical_model' })
  const parent = await s.segment(pc, dp, `parent of ${pc}`)
  const pcRecs = [segMeta(pc, dp, `parent of ${pc}`, parent.nodeId)]
  for (let k = 0; k < 3; k++) {
    const ch = await s.child(pc, dp, parent.id, `child ${k} of ${pc}`)
    live.get(pc)!.push(ch.nodeId)
    pcRecs.push(segMeta(pc, dp, `child ${k} of ${pc}`, ch.nodeId))
  }
  await write(pc, pcRecs)

  // 3. multimodal: a segment and its image
  const mm = await newDataset({ multimodal: true })
  const dm = await s.document(mm)
  const sm = await s.segment(mm, dm, `caption of ${mm}`)
  const img = await s.image(mm, dm, sm.id, 'figure.png')
  live.get(mm)!.push(sm.nodeId, img)
  await write(mm, [
    segMeta(mm, dm, `caption of ${mm}`, sm.nodeId),
    rec(img, 'figure.png', { doc_hash: '', document_id: dm, dataset_id: mm, doc_type: 'image' }),
  ])

  // 4. a gap: one segment with no vector anywhere
  const gap = await newDataset()
  const dg = await s.document(gap)
  const g1 = await s.segment(gap, dg, `present in ${gap}`)
  const g2 = await s.segment(gap, dg, `nowhere in ${gap}`)
  live.get(gap)!.push(g1.nodeId, g2.nodeId)
  await write(gap, [segMeta(gap, dg, `present in ${gap}`, g1.nodeId)])

  // 5. economy: no vectors, not selected
  const economy = await s.dataset({ technique: 'economy' })

  // 6. annotation app: vectors in the embedding cache (binding's model), optionally in the source
  const abind = await s.binding({ type: 'annotation' })
  const app = await s.app()
  await s.annotationSetting(app, abind.id)
  live.set(app, [])
  const annRecs: VectorRecord[] = []
  for (let i = 0; i < 2; i++) {
    const q = `annotation question ${i} of ${app}`
    const id = await s.annotation(app, q)
    live.get(app)!.push(id)
    cacheRows.push({ text: q, vector: unitVector(q, DIM) })
    annRecs.push(rec(id, q, { annotation_id: id, app_id: app }))
  }
  const annColl = sourceType === 'qdrant' ? abind.collection : classPrefixForStore(sourceType, app)!
  sourceTargets.set(app, sourceType === 'qdrant' ? { collection: annColl, groupId: app } : { collection: annColl })
  if (o.annotationsInSource) {
    await source.ensureCollection(sourceTargets.get(app)!, DIM)
    await source.upsert(sourceTargets.get(app)!, annRecs)
  }
  await s.cache(cacheRows)
  return {
    seeder: s,
    ids: { text, pc, mm, gap, economy, app },
    live,
    sourceTargets,
    cacheOnly,
    nowhere: g2.nodeId,
    indexStructs,
  }
}

/** Where Dify puts a unit in a target store of `type`. */
export function targetOf(type: string, id: string): VectorTarget {
  const name = genCollectionNameById(id)
  return { collection: classPrefixForStore(type, id) ?? name }
}

/** All records of a target, by doc_id. */
export async function dump(store: VectorStore, t: VectorTarget): Promise<Map<string, VectorRecord>> {
  const out = new Map<string, VectorRecord>()
  for await (const b of store.scan(t, { batchSize: 100 }))
    for (const r of b) {
      if (out.has(r.docId)) throw new Error(`duplicate doc_id ${r.docId}`)
      out.set(r.docId, r)
    }
  return out
}

/** The k nearest live neighbours of q in the source (non-live hits dropped) — what Dify's query returned. */
export async function nearestLive(
  store: VectorStore,
  t: VectorTarget,
  q: number[],
  live: Set<string>,
  k: number,
): Promise<string[]> {
  const hits = await store.search(t, q, 100)
  return hits
    .filter((h) => live.has(h.docId))
    .slice(0, k)
    .map((h) => h.docId)
}
