import { createHash } from 'node:crypto'
import { DifyOpsError } from '../core/errors.js'
import {
  classPrefixForStore,
  datasetCollectionName,
  genCollectionNameById,
  indexStructJson,
  parseIndexStruct,
} from '../dify/collections.js'
import { clearCollectionKeys } from '../vector/redis-keys.js'
import { vectorDimension, type VectorRecord, type VectorStore, type VectorTarget } from '../vector/store.js'
import { CheckpointStore, type Checkpoint, type CheckpointPort } from './checkpoint.js'
import type { Deps, MigrateOptions, OpenedStore, Unit, UnitReport } from './types.js'
import { DocIdSet, type DocIds } from '../vdb/doc-id-map.js'

/** How each store turns a cosine neighbour into Dify's score (dify-vector-stores.md §6.8): thresholds move. */
export const SCORE_SEMANTICS: Record<string, string> = {
  pgvector: '1 − cosine distance',
  qdrant: 'cosine similarity',
  weaviate: '1 − cosine distance',
  chroma: '1 − squared L2 distance (= 2·cos − 1 for unit vectors)',
  elasticsearch: '(1 + cos) / 2',
  opensearch: '1 / (1 + L2²)',
  milvus: 'inner product',
}

interface Resolved {
  target: VectorTarget
  /** the class_prefix written into index_struct (datasets) */
  classPrefix: string
  source: { type: string; target: VectorTarget } | null
  skip?: string
  fail?: string
}

/** Work out where a unit's vectors are and where they go (no I/O). */
export function resolveUnit(u: Unit, targetType: string, o: Pick<MigrateOptions, 'from'>, prefix: string): Resolved {
  const classPrefix = classPrefixForStore(targetType, u.id, { prefix, bindingCollectionName: u.bindingCollection })
  const target: VectorTarget = { collection: classPrefix ?? '', ...(targetType === 'qdrant' ? { groupId: u.id } : {}) }
  if (classPrefix === null)
    return {
      target,
      classPrefix: '',
      source: null,
      fail: `Dify's vdb-migrate does not support the target store ${targetType}.`,
    }
  // Qdrant: the binding's collection; without a collection_binding_id the generated name (classPrefixForStore),
  // as Dify's vdb-migrate; a binding id whose row is gone is Dify's error "Dataset Collection Binding not found"
  if (targetType === 'qdrant' && u.collectionBindingId && !u.bindingCollection) {
    return {
      target,
      classPrefix,
      source: null,
      fail: `its collection_binding_id ${u.collectionBindingId} has no dataset_collection_bindings row (Dify: "Dataset Collection Binding not found")`,
    }
  }
  if (u.kind === 'annotation') {
    if (!o.from) return { target, classPrefix, source: null }
    const coll = classPrefixForStore(o.from, u.id, { prefix, bindingCollectionName: u.bindingCollection })
    if (!coll) return { target, classPrefix, source: null, fail: `Source store ${o.from} is not supported.` }
    return {
      target,
      classPrefix,
      source: { type: o.from, target: { collection: coll, ...(o.from === 'qdrant' ? { groupId: u.id } : {}) } },
    }
  }
  const s = parseIndexStruct(u.indexStruct)
  const type = s?.type ?? o.from ?? targetType
  if (o.from && s && s.type !== o.from)
    return { target, classPrefix, source: null, skip: `its index_struct names ${s.type}, not --from ${o.from}` }
  if (!o.from && type === targetType) {
    if (s) return { target, classPrefix, source: null, skip: `already on ${targetType} (index_struct.type)` }
    // no index_struct: Dify serves it from VECTOR_STORE under the generated name, which is the target collection;
    // Dify's vdb-migrate rebuilds it there and writes index_struct. We complete it in place (live vectors kept,
    // stale ones deleted, gaps from the embedding cache), verify, then write index_struct
    return { target, classPrefix, source: null }
  }
  const coll = datasetCollectionName(
    type,
    { id: u.id, indexStruct: u.indexStruct, bindingCollectionName: u.bindingCollection },
    prefix,
  )
  return {
    target,
    classPrefix,
    source: { type, target: { collection: coll, ...(type === 'qdrant' ? { groupId: u.id } : {}) } },
  }
}

function emptyReport(u: Unit, targetType: string, r: Resolved, physicalName: string): UnitReport {
  return {
    kind: u.kind,
    id: u.id,
    tenantId: u.tenantId,
    name: u.name,
    outcome: 'planned',
    source: { type: r.source?.type ?? null, collection: r.source?.target.collection ?? null },
    target: { type: targetType, collection: r.target.collection, physicalName },
    live: 0,
    fromSource: 0,
    fromCache: 0,
    kept: 0,
    missing: 0,
    orphans: 0,
    duplicates: 0,
    written: 0,
    resumedFrom: 0,
    verified: false,
    switched: false,
    sourceDeleted: false,
    missingDocIds: [],
    warnings: [],
    seconds: 0,
  }
}

const MAX_LISTED_MISSING = 100

/** Migrate (or, with dryRun, plan) one unit. Never throws for per-unit failures: they are in the report. */
export async function migrateUnit(
  deps: Deps,
  o: MigrateOptions,
  u: Unit,
  index: number,
  total: number,
): Promise<UnitReport> {
  const started = Date.now()
  const tt = deps.target.store.type
  const r = resolveUnit(u, tt, o, deps.vectorIndexNamePrefix)
  let phys = ''
  try {
    phys = r.target.collection ? deps.target.store.physicalName(r.target) : ''
  } catch {
    /* reported below */
  }
  const rep = emptyReport(u, tt, r, phys)
  const done = (outcome: UnitReport['outcome'], reason?: string) => {
    rep.outcome = outcome
    if (reason) rep.reason = reason
    rep.seconds = Math.round((Date.now() - started) / 100) / 10
    deps.progress?.unitEnd(rep)
    return rep
  }
  if (r.fail) return done('failed', r.fail)
  if (r.skip) return done('skipped', r.skip)
  try {
    return await run(deps, o, u, r, rep, index, total, done)
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    return done('failed', msg)
  }
}

type Done = (outcome: UnitReport['outcome'], reason?: string) => UnitReport

/** One unit's run: what its phases share. */
interface UnitRun {
  deps: Deps
  o: MigrateOptions
  u: Unit
  r: Resolved
  rep: UnitReport
  done: Done
  target: VectorStore
  tgt: VectorTarget
  cps: CheckpointPort
  source: OpenedStore | null
  src: VectorTarget | undefined
  /** the source as the checkpoint names it (a changed source starts the unit over) */
  sourceKey: string
  live: DocIds
  cp: Checkpoint | null
  resumeFrom: number
  /** no source: the target collection is completed in place */
  inPlace: boolean
  dim: number | null
  ensured: boolean
  sample: Reservoir<{ docId: string; vector: number[] }>
  /** Weaviate: doc_id → hash of its text (objects are keyed by uuid5 of the text) */
  textKeys: Map<string, string> | null
  /** the live doc_ids the target holds (or, dry run, would hold) */
  seen: DocIdSet
  written: number
}

/** The phases of one unit, in order; each returns the unit's report when it ends the unit, else null. */
async function run(
  deps: Deps,
  o: MigrateOptions,
  u: Unit,
  r: Resolved,
  rep: UnitReport,
  index: number,
  total: number,
  done: Done,
): Promise<UnitReport> {
  const started = await plan(deps, o, u, r, rep, index, total, done)
  if (!('cps' in started)) return started
  const x = started
  const ended = (await copyFromSource(x)) ?? (await completeInPlace(x)) ?? (await fillFromCache(x))
  if (ended) return ended
  countMissing(x)
  if (o.dryRun) return dryRunEnd(x)
  await checkpoint(x, 'copied', 0x7fffffff, rep.written)
  if (deps.signal?.aborted) return done('interrupted', 'stopped before verification; rerun to continue')
  return (await verifyUnit(x)) ?? (await switchUnit(x)) ?? (await deleteSource(x)) ?? done('migrated')
}

async function checkpoint(
  x: UnitRun,
  state: Checkpoint['state'],
  sourcePosition: number,
  written: number,
  detail: string | null = null,
): Promise<void> {
  await x.cps.put({
    unitKind: x.u.kind,
    unitId: x.u.id,
    targetKey: x.deps.target.key,
    targetCollection: x.tgt.collection,
    sourceKey: x.sourceKey,
    state,
    sourcePosition,
    written,
    detail,
  })
}

/** The collection is created (index deferred) at the first vector; every vector must have its dimension. */
async function ensure(x: UnitRun, d: number): Promise<void> {
  if (x.dim === null) x.dim = d
  else if (d !== x.dim) throw new DifyOpsError(`vectors of dimension ${d} and ${x.dim} in one collection`)
  if (!x.ensured && !x.o.dryRun) {
    await x.target.ensureCollection(x.tgt, d, { deferIndex: true })
    x.ensured = true
  }
}

/** A live item the target will hold: counted once, its text keyed (Weaviate), offered to the verify sample. */
function take(x: UnitRun, docId: string, text: string, vector: () => number[]): void {
  x.seen.add(docId)
  x.textKeys?.set(docId, createHash('sha1').update(text).digest('base64'))
  x.sample.offer(() => ({ docId, vector: vector() }))
}

/**
 * 0. plan: the source, the live doc_ids, the checkpoint (kept, or dropped for --restart, a failure or a changed
 * source or target), and on a fresh start the target emptied (Dify's own first step).
 */
async function plan(
  deps: Deps,
  o: MigrateOptions,
  u: Unit,
  r: Resolved,
  rep: UnitReport,
  index: number,
  total: number,
  done: Done,
): Promise<UnitRun | UnitReport> {
  const target = deps.target.store
  const tgt = r.target
  const cps = deps.checkpoints ?? new CheckpointStore(deps.db)
  let source: OpenedStore | null = null
  if (r.source) source = await deps.openSource(r.source.type)
  const src = r.source?.target
  const sourceKey =
    source && src
      ? `${source.key}/${source.store.physicalName(src)}${src.groupId ? `#${src.groupId}` : ''}`
      : 'embedding-cache'
  if (
    source &&
    src &&
    source.key === deps.target.key &&
    source.store.physicalName(src) === target.physicalName(tgt) &&
    (src.groupId ?? '') === (tgt.groupId ?? '')
  ) {
    return done(
      'failed',
      'the source and the target are the same collection; pass --from and --source-env-file for a store of the same type elsewhere',
    )
  }
  if (source && src && source.store.type !== target.type) {
    const a = SCORE_SEMANTICS[source.store.type]
    const b = SCORE_SEMANTICS[target.type]
    if (a && b && a !== b)
      rep.warnings.push(
        `score semantics change (${source.store.type}: ${a}; ${target.type}: ${b}): review score thresholds of apps using it`,
      )
  }

  const live = await deps.live.docIds(u)
  rep.live = live.size
  deps.progress?.unitStart(u, index, total, live.size)

  // annotations: Dify rebuilds every app on every run; we skip the ones already exact on the target
  if (u.kind === 'annotation' && (await holdsExactly(target, tgt, live, o.batchSize))) {
    rep.fromSource = 0
    return done('skipped', 'the target already holds exactly the live annotations')
  }

  let cp: Checkpoint | null = null
  if (!o.dryRun) {
    cp = await cps.get(u.kind, u.id, deps.target.key)
    if (
      cp &&
      (o.restart || cp.state === 'failed' || cp.sourceKey !== sourceKey || cp.targetCollection !== tgt.collection)
    ) {
      await cps.remove(u.kind, u.id, deps.target.key)
      cp = null
    }
    if (cp?.state === 'done' && u.kind === 'dataset')
      return done('skipped', 'already migrated to this target (checkpoint)')
  }
  if (deps.signal?.aborted) return done('interrupted', 'stopped before copying; rerun to continue')
  const resumeFrom = cp?.sourcePosition ?? 0
  rep.resumedFrom = resumeFrom
  // annotations without --from, datasets without index_struct: the target collection is where Dify keeps them
  // today; it is completed in place
  // (live vectors kept, gaps filled from the cache, stale ones deleted), never emptied first
  const inPlace = !source
  if (inPlace && u.kind === 'dataset')
    rep.warnings.push(
      `no index_struct: completed in place in ${target.type} ${tgt.collection} (where Dify serves it from), then index_struct written`,
    )
  const x: UnitRun = {
    deps,
    o,
    u,
    r,
    rep,
    done,
    target,
    tgt,
    cps,
    source,
    src,
    sourceKey,
    live,
    cp,
    resumeFrom,
    inPlace,
    dim: null,
    ensured: false,
    sample: new Reservoir(o.verifySample),
    // Weaviate (Dify 1.9.2 – 1.15) keys objects by uuid5(text): live items with the same text collapse into one
    // object; verification then expects one object per distinct text and reports the collapsed doc_ids
    textKeys: target.type === 'weaviate' ? new Map<string, string>() : null,
    seen: new DocIdSet(),
    written: cp?.written ?? 0,
  }
  if (!o.dryRun && !cp && !inPlace) {
    // a fresh start owns the target: empty what an earlier attempt or Dify left there (Dify's own first step)
    await target.deleteTarget(tgt)
    await checkpoint(x, 'copying', 0, 0)
  }
  return x
}

/** 1. the source store: scan, keep the live doc_ids (orphans and repeated doc_ids are left behind). */
async function copyFromSource(x: UnitRun): Promise<UnitReport | null> {
  const { source, src, o, rep, deps, u } = x
  if (!source || !src) return null
  const inflight: Array<{ end: number; n: number; p: Promise<unknown> }> = []
  let contiguous = x.resumeFrom
  const settle = async () => {
    const f = inflight.shift()!
    await f.p
    x.written += f.n
    contiguous = f.end
    await checkpoint(x, 'copying', contiguous, x.written)
    deps.progress?.batch(u, x.written, x.live.size)
  }
  let pos = 0
  let interrupted = false
  let failure: unknown
  try {
    for await (const batch of source.store.scan(src, { batchSize: o.batchSize })) {
      const taken: VectorRecord[] = []
      for (const rec of batch) {
        if (!x.live.has(rec.docId)) rep.orphans++
        else if (x.seen.has(rec.docId)) rep.duplicates++
        else {
          // decoded only when it enters the sample (pgvector records decode their bytes lazily)
          take(x, rec.docId, rec.text, () => rec.vector)
          taken.push(rec)
        }
      }
      if (taken.length) await ensure(x, vectorDimension(taken[0]!))
      for (const t of taken) {
        const d = vectorDimension(t)
        if (d !== x.dim) throw new DifyOpsError(`doc_id ${t.docId} has dimension ${d}, not ${x.dim}`)
        t.id = t.docId // keyed as Dify keys it (in place: a copy would decode pgvector's bytes)
      }
      const end = pos + batch.length
      // records before the checkpointed position are written already (upserts are idempotent, so a batch that
      // straddles it is simply written again)
      if (!o.dryRun && end > x.resumeFrom) {
        const p = taken.length ? x.target.upsert(x.tgt, taken) : Promise.resolve()
        p.catch(() => {})
        inflight.push({ end, n: taken.length, p })
        while (inflight.length >= Math.max(1, o.concurrency)) await settle()
      }
      pos = end
      if (deps.signal?.aborted) {
        interrupted = true
        break
      }
    }
  } catch (e) {
    failure = e
  }
  // the batches already sent are finished (and checkpointed) before anything else happens
  while (inflight.length) {
    try {
      await settle()
    } catch (e) {
      failure ??= e
      inflight.length = 0
    }
  }
  if (failure) throw failure
  if (interrupted) return x.done('interrupted', `stopped after ${contiguous} source record(s); rerun to continue`)
  rep.fromSource = x.seen.size
  return null
}

/** 1'. no source: the live vectors the target holds are kept, stale ones deleted. */
async function completeInPlace(x: UnitRun): Promise<UnitReport | null> {
  const { o, rep, target, tgt } = x
  if (!x.inPlace) return null
  const stale: string[] = []
  for await (const batch of target.scan(tgt, { batchSize: o.batchSize })) {
    if (x.deps.signal?.aborted)
      return x.done('interrupted', 'stopped while reading the target; nothing was changed, rerun to continue')
    for (const rec of batch) {
      if (!x.live.has(rec.docId) || x.seen.has(rec.docId)) stale.push(rec.docId)
      else {
        take(x, rec.docId, rec.text, () => rec.vector)
        if (x.dim === null) x.dim = vectorDimension(rec)
      }
    }
  }
  rep.orphans = stale.length
  if (!o.dryRun) for (let i = 0; i < stale.length; i += 500) await target.deleteByDocIds(tgt, stale.slice(i, i + 500))
  if (x.dim !== null) x.ensured = !o.dryRun
  rep.kept = x.seen.size
  rep.fromSource = 0
  return null
}

/** 2. the embedding cache for live items the source lacks. */
async function fillFromCache(x: UnitRun): Promise<UnitReport | null> {
  const { deps, o, u, rep } = x
  const pending = new DocIdSet()
  for (const id of x.live) if (!x.seen.has(id)) pending.add(id)
  if (!pending.size || !u.model || !u.provider) return null
  for await (const items of deps.live.itemsFor(u, pending, o.batchSize)) {
    if (deps.signal?.aborted)
      return x.done('interrupted', 'stopped while filling from the embedding cache; rerun to continue')
    const vecs = await deps.cache.lookup(u.model, u.provider, [...new Set(items.map((it) => it.text))])
    const recs: VectorRecord[] = []
    for (const it of items) {
      const v = vecs.get(it.text)
      if (!v) continue
      recs.push({
        id: it.docId,
        docId: it.docId,
        text: it.text,
        metadata: { ...it.metadata, doc_id: it.docId },
        vector: v,
      })
      take(x, it.docId, it.text, () => v)
    }
    if (recs.length) {
      await ensure(x, recs[0]!.vector.length)
      for (const t of recs)
        if (t.vector.length !== x.dim)
          throw new DifyOpsError(
            `the cached vector of doc_id ${t.docId} has dimension ${t.vector.length}, not ${x.dim}`,
          )
      if (!o.dryRun) await x.target.upsert(x.tgt, recs)
    }
    rep.fromCache += recs.length
  }
  return null
}

/** The live items with no vector anywhere (the first MAX_LISTED_MISSING listed). */
function countMissing(x: UnitRun): void {
  const { rep } = x
  const missingListed: string[] = []
  for (const id of x.live) {
    if (x.seen.has(id)) continue
    rep.missing++
    if (missingListed.length < MAX_LISTED_MISSING) missingListed.push(id)
  }
  rep.missingDocIds = missingListed
  rep.written = x.o.dryRun ? 0 : rep.fromSource + rep.fromCache
}

/** --dry-run ends here: the plan, with what the target collection would go through. */
async function dryRunEnd(x: UnitRun): Promise<UnitReport> {
  const layout = await x.target.layout(x.tgt).catch(() => null)
  if (layout && x.dim !== null && layout.dimension !== null && layout.dimension !== x.dim) {
    x.rep.warnings.push(
      `the target collection exists with dimension ${layout.dimension}, the vectors have ${x.dim}: it will be emptied and recreated`,
    )
  } else if (layout && !x.inPlace)
    x.rep.warnings.push('the target collection exists: a fresh start empties it first (as Dify does)')
  return x.done('planned')
}

/**
 * 3. verify: exact doc_id set, a sample of vectors equal to where they came from, one search. The deferred
 * index (pgvector's HNSW) is built meanwhile: reading the table does not wait for CREATE INDEX, and the search
 * probe waits for the index, so it runs Dify's query on the finished collection.
 */
async function verifyUnit(x: UnitRun): Promise<UnitReport | null> {
  const { deps, o, rep, target, tgt } = x
  const building = x.ensured ? target.finishBulkLoad(tgt) : Promise.resolve()
  building.catch(() => {}) // awaited below
  const collapsed = { n: 0, probeMisses: 0 }
  let problem: string | null
  try {
    problem = await verify(
      target,
      tgt,
      x.seen,
      x.sample.items,
      o.batchSize,
      x.textKeys,
      collapsed,
      building,
      deps.signal,
    )
  } catch (e) {
    // an interrupted verification proves nothing either way: the checkpoint stays `copied`, the rerun verifies
    if (!(e instanceof VerifyInterrupted)) throw e
    problem = null
  } finally {
    // an index build under way is let finish (PostgreSQL would finish it anyway); a second Ctrl-C exits at once
    await building.catch(() => {})
  }
  if (deps.signal?.aborted)
    return x.done('interrupted', 'stopped during verification; nothing switched, rerun to continue')
  await building
  if (collapsed.n)
    rep.warnings.push(
      `${collapsed.n} doc_id(s) share their text with another live item and collapse into one Weaviate object (uuid5 of the text, as Dify writes them)`,
    )
  rep.duplicates += collapsed.n
  if (collapsed.probeMisses) {
    rep.warnings.push(
      `${collapsed.probeMisses} search probe(s) did not find their own vector among the top 10${collapsed.probeMisses < Math.min(PROBES, x.sample.items.length) ? ' before one did' : ''}: the index is approximate (HNSW recall on this data); the vectors themselves were verified`,
    )
  }
  if (problem) {
    await checkpoint(x, 'failed', 0, rep.written, problem)
    return x.done('failed', `verification failed: ${problem}`)
  }
  rep.verified = true
  await checkpoint(x, 'verified', 0x7fffffff, rep.written)
  return null
}

/** 4. switch (datasets): compare-and-swap on the old index_struct, and Dify's collection-exists keys cleared. */
async function switchUnit(x: UnitRun): Promise<UnitReport | null> {
  const { deps, o, u, rep, target, tgt } = x
  if (deps.signal?.aborted)
    return x.done('interrupted', 'stopped after verification, before the switch; nothing switched, rerun to continue')
  if (rep.missing && !o.allowMissing) {
    return x.done(
      'incomplete',
      `${rep.missing} live item(s) have no vector in the source or the embedding cache; not switched (--allow-missing switches anyway)`,
    )
  }
  if (u.kind === 'dataset') {
    await clearCollectionKeys(deps.redis, target.type, tgt.collection)
    // the last moment an interrupt stops the switch (the keys above only make Dify re-check the collection)
    if (deps.signal?.aborted)
      return x.done('interrupted', 'stopped before the switch; nothing switched, rerun to continue')
    const next = indexStructJson(target.type, x.r.classPrefix)
    const n = await casIndexStruct(deps, u, next)
    if (!n) {
      const [row] = await deps.db.kysely.selectFrom('datasets').select('index_struct').where('id', '=', u.id).execute()
      if (row?.index_struct !== next) {
        return x.done(
          'failed',
          'datasets.index_struct changed while migrating (indexing or another migration?); not switched, rerun',
        )
      }
    }
    rep.switched = true
    await clearCollectionKeys(deps.redis, target.type, tgt.collection)
  }
  await checkpoint(x, 'done', 0x7fffffff, rep.written)
  return null
}

/** 5. --delete-source: only a per-unit collection (or a Qdrant group), never a shared table. */
async function deleteSource(x: UnitRun): Promise<UnitReport | null> {
  const { deps, u, rep, source, src } = x
  if (!deps.confirmDeleteSource || !source || !src) return null
  const own =
    src.groupId !== undefined ||
    src.collection.toLowerCase() === genCollectionNameById(u.id, deps.vectorIndexNamePrefix).toLowerCase()
  if (!own) rep.warnings.push(`source ${src.collection} is not this ${u.kind}'s own collection; not deleted`)
  else if (await deps.confirmDeleteSource(u, `${source.key} ${source.store.physicalName(src)}`)) {
    await source.store.deleteTarget(src)
    rep.sourceDeleted = true
  }
  return null
}

async function casIndexStruct(deps: Deps, u: Unit, next: string): Promise<number> {
  let q = deps.db.kysely.updateTable('datasets').set({ index_struct: next }).where('id', '=', u.id)
  q = u.indexStruct === null ? q.where('index_struct', 'is', null) : q.where('index_struct', '=', u.indexStruct)
  const res = await q.executeTakeFirst()
  return Number(res.numUpdatedRows ?? 0)
}

/** The target holds exactly these doc_ids, once each. */
async function holdsExactly(store: VectorStore, t: VectorTarget, live: DocIds, batchSize: number): Promise<boolean> {
  if (!(await store.exists(t))) return live.size === 0
  if ((await store.count(t)) !== live.size) return false
  const got = new DocIdSet()
  for await (const batch of store.scan(t, { batchSize })) {
    for (const rec of batch) {
      if (!live.has(rec.docId) || got.has(rec.docId)) return false
      got.add(rec.docId)
    }
  }
  return got.size === live.size
}

const PROBES = 10

/** Thrown by verify when the signal aborts it. */
export class VerifyInterrupted extends Error {}

/** Returns a description of the first problem, or null when the target is right. Throws VerifyInterrupted on abort. */
export async function verify(
  store: VectorStore,
  t: VectorTarget,
  expected: DocIds,
  sample: Array<{ docId: string; vector: number[] }>,
  batchSize: number,
  textKeys: Map<string, string> | null = null,
  collapsed = { n: 0, probeMisses: 0 },
  indexReady: Promise<unknown> = Promise.resolve(),
  signal?: AbortSignal,
): Promise<string | null> {
  const stop = () => {
    if (signal?.aborted) throw new VerifyInterrupted('interrupted')
  }
  const count = expected.size ? await store.count(t) : (await store.exists(t)) ? await store.count(t) : 0
  const want = textKeys ? new Set(textKeys.values()).size : expected.size
  if (count !== want) return `the target holds ${count} vector(s), ${want} expected`
  const sampled = new Map(sample.map((s) => [s.docId, s.vector]))
  const got = new DocIdSet()
  if (expected.size) {
    for await (const batch of store.scan(t, { batchSize })) {
      stop()
      for (const rec of batch) {
        if (!expected.has(rec.docId)) return `unexpected doc_id ${rec.docId} in the target`
        if (got.has(rec.docId)) return `doc_id ${rec.docId} twice in the target`
        got.add(rec.docId)
        const v = sampled.get(rec.docId)
        if (v && !sameVector(v, rec.vector)) return `the vector of doc_id ${rec.docId} differs from its source`
      }
    }
  }
  if (textKeys) {
    // every absent doc_id must share its text with a present one (collapsed by uuid5(text))
    const present = new Set([...got].map((d) => textKeys.get(d)))
    for (const d of expected) {
      if (got.has(d)) continue
      if (!present.has(textKeys.get(d))) return `doc_id ${d} is absent from the target`
      collapsed.n++
    }
  } else if (got.size !== expected.size) return `${expected.size - got.size} doc_id(s) absent from the target`
  // Dify's query with sampled vectors (the vectors themselves are compared above). It must answer, and only with
  // doc_ids of the target; the first probe that finds itself in the top 10 ends it. An approximate index (HNSW) may
  // miss an exact match: on 200 000 uniformly random 1536-d vectors all 10 probes missed (no navigable structure in
  // such data; at 20 000 the first probe hits) — that is reported as a warning, not a failure
  const probes = sample.filter((s) => got.has(s.docId)).slice(0, PROBES)
  stop()
  await indexReady
  let answered = 0
  for (const p of probes) {
    stop()
    const hits = await store.search(t, p.vector, 10)
    const stray = hits.find((h) => !got.has(h.docId))
    if (stray) return `a search returned doc_id ${stray.docId}, which the target scan did not hold`
    if (hits.length) answered++
    if (hits.some((h) => h.docId === p.docId)) return null
    collapsed.probeMisses++
  }
  if (probes.length && !answered) return `searches with ${probes.length} sampled vector(s) return nothing`
  return null
}

/** float32 storage on both sides: equal within float32 rounding. */
export function sameVector(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    if (Math.abs(x - y) > 1e-6 * Math.max(1, Math.abs(x))) return false
  }
  return true
}

class Reservoir<T> {
  items: T[] = []
  #n = 0
  constructor(private readonly size: number) {}
  /** `make` runs only when the item enters the sample */
  offer(make: () => T): void {
    this.#n++
    if (this.items.length < this.size) this.items.push(make())
    else {
      const j = Math.floor(Math.random() * this.#n)
      if (j < this.size) this.items[j] = make()
    }
  }
}
