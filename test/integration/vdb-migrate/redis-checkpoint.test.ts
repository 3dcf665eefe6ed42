import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { classPrefixForStore, indexStructJson } from '../../../src/dify/collections.js'
import { keys } from '../../../src/dify/keys.js'
import type { VectorStore, VectorTarget } from '../../../src/vector/store.js'
import { shardOf } from '../../../src/vdb-migrate/select.js'
import { BIN, runCli } from '../../support/cli.js'
import { type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { DifySeeder, unitVector } from '../../support/vdb-seed.js'
import { dump } from '../../support/vdb-migrate-world.js'
import { pgvectorAvailable, pgvectorVars as pgvEnv, writeEnvFile } from '../../support/pgvector.js'
import { migrateBed, type MigrateBed } from '../../support/vdb-migrate-bed.js'

const pgvectorUp = await pgvectorAvailable()

const N = 200
const DIM = 16

/** `vdb-migrate --checkpoint redis`, pgvector (database A) → pgvector (database B), real Redis. */
describe.skipIf(!pgvectorUp)('vdb-migrate --checkpoint redis (real Redis, pgvector → pgvector)', () => {
  let bed: MigrateBed
  let a: Scratch
  let redis: ScratchRedis
  let c: pg.Client
  let src: VectorStore
  let dst: VectorStore
  let env: Record<string, string>
  let base: string[]
  const live = new Map<string, string[]>()
  const ds: { kill: string; int: string; s0: string; s1: string } = { kill: '', int: '', s0: '', s1: '' }
  const T = (id: string): VectorTarget => ({ collection: classPrefixForStore('pgvector', id)! })
  const cpKey = (id: string) => keys.vdbMigrateCheckpoint('dataset', id, redis.prefix)
  const checkpoint = async (id: string) => {
    const h = await redis.client.hgetall(cpKey(id))
    const vals = Object.values(h)
    return vals.length ? (JSON.parse(vals[0]!) as { state: string; sourcePosition: number; written: number }) : null
  }
  const tableExists = async () =>
    (await c.query(`select to_regclass('dify_ops_vdb_migrate_checkpoints')::text as t`)).rows[0].t !== null
  const keyspace = async () => {
    const out: Record<string, string> = {}
    let cursor = '0'
    do {
      const [next, ks] = await redis.client.scan(cursor, 'MATCH', `${redis.prefix}*`, 'COUNT', 1000)
      cursor = next
      for (const k of ks) out[k] = `${await redis.client.type(k)}:${JSON.stringify(await redis.client.dump(k))}`
    } while (cursor !== '0')
    return out
  }
  const expectExact = async (id: string) => {
    const got = await dump(dst, T(id)) // throws on a duplicate doc_id
    expect([...got.keys()].sort()).toEqual([...live.get(id)!].sort())
    expect(await dst.count(T(id))).toBe(N)
  }

  beforeAll(async () => {
    bed = await migrateBed('vdbmigrc', 'pgvector')
    ;({ db: a, redis, c, src, dst, env } = bed)
    const srcEnvFile = writeEnvFile(pgvEnv(a.name), 'vdbmigrc')
    base = [
      'vdb-migrate',
      '--json',
      '--checkpoint',
      'redis',
      '--scope',
      'knowledge',
      '--from',
      'pgvector',
      '--source-env-file',
      srcEnvFile,
    ]
    const s = new DifySeeder(c)
    const seed = async (shard?: number) => {
      let id = randomUUID()
      while (shard !== undefined && shardOf(id, 2) !== shard) id = randomUUID()
      const coll = classPrefixForStore('pgvector', id)!
      await s.dataset({ id, indexStruct: indexStructJson('pgvector', coll) })
      const doc = await s.document(id)
      const recs = []
      const ids: string[] = []
      for (let i = 0; i < N; i++) {
        const text = `redis checkpoint segment ${i} of ${id}`
        const seg = await s.segment(id, doc, text)
        ids.push(seg.nodeId)
        recs.push({
          id: seg.nodeId,
          docId: seg.nodeId,
          text,
          metadata: { doc_id: seg.nodeId, doc_hash: 'x', document_id: doc, dataset_id: id },
          vector: unitVector(text, DIM),
        })
      }
      const o = randomUUID() // an orphan in the source: never copied
      recs.push({
        id: o,
        docId: o,
        text: 'orphan',
        metadata: { doc_id: o, document_id: doc, dataset_id: id },
        vector: unitVector(`orphan ${id}`, DIM),
      })
      await src.ensureCollection({ collection: coll }, DIM)
      await src.upsert({ collection: coll }, recs)
      live.set(id, ids)
      return id
    }
    ds.kill = await seed()
    ds.int = await seed()
    ds.s0 = await seed(0)
    ds.s1 = await seed(1)
  })
  afterAll(async () => {
    await bed?.close()
  })

  const spawnCli = (
    args: string[],
  ): {
    child: ChildProcess
    done: Promise<{ code: number | null; signal: string | null; out: string; err: string }>
  } => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout!.on('data', (d) => (out += d))
    child.stderr!.on('data', (d) => (err += d))
    const done = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((res) =>
      child.on('close', (code, signal) => res({ code, signal, out, err })),
    )
    return { child, done }
  }

  it('--dry-run writes nothing to Redis (key space compared) nor creates the checkpoint table', async () => {
    const before = await keyspace()
    const r = await runCli([...base, '--dry-run'], { env, timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.units.every((u: { outcome: string }) => u.outcome === 'planned')).toBe(true)
    expect(await keyspace()).toEqual(before)
    expect(await tableExists()).toBe(false)
    expect(await dst.exists(T(ds.kill))).toBe(false)
  })

  it('SIGKILL at checkpointed points (mid-copy, copied, verified): the rerun ends exact, without duplicates', async () => {
    const points: Array<{ name: string; hit: (cp: Awaited<ReturnType<typeof checkpoint>>) => boolean }> = [
      { name: 'copying@≥10', hit: (cp) => cp?.state === 'copying' && cp.sourcePosition >= 10 },
      { name: 'copying@≥60', hit: (cp) => cp?.state === 'copying' && cp.sourcePosition >= 60 },
      { name: 'copying@≥150', hit: (cp) => cp?.state === 'copying' && cp.sourcePosition >= 150 },
      { name: 'copied', hit: (cp) => cp?.state === 'copied' },
      { name: 'verified', hit: (cp) => cp?.state === 'verified' },
    ]
    const seen: string[] = []
    for (const p of points) {
      const run = spawnCli([...base, '--dataset', ds.kill, '--batch-size', '2', '--concurrency', '1'])
      let exited = false
      void run.done.then(() => (exited = true))
      let at: Awaited<ReturnType<typeof checkpoint>> = null
      while (!exited) {
        const cp = await checkpoint(ds.kill)
        if (p.hit(cp)) {
          run.child.kill('SIGKILL')
          at = cp
          break
        }
        await new Promise((r) => setTimeout(r, 3))
      }
      const res = await run.done
      seen.push(`${p.name}→${res.signal ?? res.code}:${at ? `${at.state}@${at.sourcePosition}` : 'ran to the end'}`)
      if (!at) break // the run finished before the point: later points cannot be reached either
    }
    // at least one kill landed in the middle of the copy
    expect(
      seen.some((s) => /SIGKILL:copying@/.test(s)),
      seen.join(' '),
    ).toBe(true)
    const r = await runCli([...base, '--dataset', ds.kill], { env, timeoutMs: 120_000 })
    expect(r.code, `${seen.join(' ')} ${r.stderr}`).toBe(0)
    expect(['migrated', 'skipped']).toContain(r.json.units[0].outcome)
    await expectExact(ds.kill)
    expect((await checkpoint(ds.kill))?.state).toBe('done')
    expect(await redis.client.ttl(cpKey(ds.kill))).toBe(-1)
    expect(await tableExists()).toBe(false)
    console.log(`kill points: ${seen.join(' ')}`)
  })

  it('SIGINT → exit 130 with a copying checkpoint in Redis; the rerun resumes; --restart starts over', async () => {
    const run = spawnCli([...base, '--dataset', ds.int, '--batch-size', '2', '--concurrency', '1'])
    for (let i = 0; i < 2000; i++) {
      const cp = await checkpoint(ds.int)
      if (cp && cp.sourcePosition > 0) break
      await new Promise((r) => setTimeout(r, 5))
    }
    run.child.kill('SIGINT')
    const res = await run.done
    expect(res.code, res.err).toBe(130)
    expect(JSON.parse(res.out).units[0].outcome).toBe('interrupted')
    const cp = await checkpoint(ds.int)
    expect(cp?.state).toBe('copying')
    expect(cp!.sourcePosition).toBeGreaterThan(0)
    expect(cp!.sourcePosition).toBeLessThan(N)

    const r = await runCli([...base, '--dataset', ds.int, '--batch-size', '7'], { env, timeoutMs: 120_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.units[0]).toMatchObject({ outcome: 'migrated', fromSource: N, orphans: 1, verified: true })
    expect(r.json.units[0].resumedFrom).toBe(cp!.sourcePosition)
    await expectExact(ds.int)
    expect((await checkpoint(ds.int))?.state).toBe('done')

    // done: a rerun skips by the checkpoint; --restart forgets it and copies everything again
    const r2 = await runCli([...base, '--dataset', ds.int], { env, timeoutMs: 60_000 })
    expect(r2.json.units[0]).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/checkpoint/) })
    const r3 = await runCli([...base, '--dataset', ds.int, '--restart'], { env, timeoutMs: 120_000 })
    expect(r3.code, r3.stderr).toBe(0)
    expect(r3.json.units[0]).toMatchObject({ outcome: 'migrated', resumedFrom: 0, written: N })
    await expectExact(ds.int)
    expect(await tableExists()).toBe(false)
  })

  it('two --shard processes at once share the work through Redis checkpoints', async () => {
    const sel = ['--dataset', ds.s0, '--dataset', ds.s1, '--batch-size', '10']
    const [p0, p1] = [spawnCli([...base, ...sel, '--shard', '0/2']), spawnCli([...base, ...sel, '--shard', '1/2'])]
    const [r0, r1] = await Promise.all([p0.done, p1.done])
    expect(r0.code, r0.err).toBe(0)
    expect(r1.code, r1.err).toBe(0)
    const u0 = JSON.parse(r0.out).units
    const u1 = JSON.parse(r1.out).units
    expect(u0.map((u: { id: string }) => u.id)).toEqual([ds.s0])
    expect(u1.map((u: { id: string }) => u.id)).toEqual([ds.s1])
    for (const u of [...u0, ...u1]) expect(u).toMatchObject({ outcome: 'migrated', written: N })
    for (const id of [ds.s0, ds.s1]) {
      await expectExact(id)
      expect((await checkpoint(id))?.state).toBe('done')
    }
    expect(await tableExists()).toBe(false)
  })

  it('--dry-run --restart leaves existing checkpoints alone (key space and values compared)', async () => {
    const before = await keyspace()
    expect(Object.keys(before).length).toBeGreaterThanOrEqual(4)
    const r = await runCli([...base, '--dry-run', '--restart'], { env, timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(await keyspace()).toEqual(before)
    expect(await tableExists()).toBe(false)
  })
})
