/**
 * `dify retention clean` under load at Dify 1.15.0, one suite for both dialects (test/integration/retention/load.test.ts
 * on PostgreSQL, load-mysql.test.ts on MariaDB): `runs` old closed runs with `nodesPerRun` node executions and an app
 * log each (INSERT … SELECT, bulkInsert).
 * - a concurrent writer inserts and finishes runs and node executions the way Dify does (insert run, insert node
 *   executions, update them, update the run, insert the app log) while clean runs in-process (lock_timeout 2 s): none
 *   of its statements fails, none waits longer than lock_timeout plus the longest batch;
 * - SIGKILL of the built CLI mid-run with --archive-dir, then rerun: the same end state as an uninterrupted clean, and
 *   the archive holds every deleted row exactly once; `retention restore` of it puts every row back;
 * - SIGINT to the built CLI finishes the batch in flight and exits 130; the rerun resumes and completes;
 * - a run locked by another session: the batch waits --lock-timeout, is retried, and goes through once the lock is
 *   released; a lock held throughout is exit 6 naming the table, nothing deleted.
 * Needs `npm run build` (the signal tests spawn dist/).
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Runtime } from '../../src/runtime/index.js'
import { loadConfig } from '../../src/config/schema.js'
import { loadProfile } from '../../src/dify/schema-version.js'
import { jobKeyOf, retentionClean } from '../../src/retention/clean.js'
import { listBatches, readBatchTable } from '../../src/retention/archive.js'
import { RETENTION_CHECKPOINT_TABLE } from '../../src/retention/checkpoint.js'
import { runCli, startCli, type CliResult } from './cli.js'
import { connectScratch, scratchRedis, type ScratchRedis } from './scratch.js'
import { bulkInsert, loadSql, retentionWorld, type RetentionWorld } from './retention-world.js'

const DAY = 86_400
/** the id prefix of the bulk-seeded runs */
const SEEDED = '00000000-0000-4000-8000-'
const CLOSED = `('succeeded','failed','stopped','partial-succeeded')`

export interface LoadSizes {
  /** old closed runs of the writer test (node executions: runs × nodesPerRun) */
  runs: number
  nodesPerRun: number
  /** runs of the SIGKILL test, and its --batch-size (killed after 3 committed batches) */
  killRuns: number
  killBatch: number
}

export function retentionLoadSuite(dialect: 'postgres' | 'mysql', sizes: LoadSizes): void {
  const name = dialect === 'postgres' ? 'PostgreSQL' : 'MariaDB'
  const S = loadSql(dialect)
  const count = async (w: RetentionWorld, table: string, where = '1=1') =>
    Number((await w.query(`select count(*) as n from "${table}" where ${where}`))[0]!.n)
  const oldClosedLeft = (w: RetentionWorld) =>
    count(w, 'workflow_runs', `created_at < ${S.daysAgo(30)} and status in ${CLOSED}`)
  /** batches of the job without an archive (the writer test's and the SIGINT test's), or of the archive's job */
  const checkpointBatches = async (
    w: RetentionWorld,
    state: 'running' | 'done',
    archiveDir?: string,
  ): Promise<number | null> => {
    const schema = dialect === 'postgres' ? 'current_schema()' : 'database()'
    const t = await w.query(
      `select count(*) as n from information_schema.tables where table_schema = ${schema} and table_name = '${RETENTION_CHECKPOINT_TABLE}'`,
    )
    if (!Number(t[0]!.n)) return null
    const cp = await w.query(
      `select batches from ${RETENTION_CHECKPOINT_TABLE} where grp = 'workflow' and state = $1 and job_key = $2`,
      [state, jobKeyOf({ archiveDir })],
    )
    return cp.length ? Number(cp[0]!.batches) : null
  }
  /** until the job has committed `atLeast` batches; fails if the CLI ended first */
  const waitForBatches = async (w: RetentionWorld, cli: Promise<CliResult>, atLeast: number, archiveDir?: string) => {
    let ended: CliResult | undefined
    void cli.then((r) => (ended = r))
    for (;;) {
      await new Promise((r) => setTimeout(r, 100))
      const n = await checkpointBatches(w, 'running', archiveDir)
      if (n !== null && n >= atLeast) return
      if (ended) throw new Error(`the CLI ended (exit ${ended.code}) before ${atLeast} batches: ${ended.stderr}`)
    }
  }
  /** `runs` old closed runs (ids with the fixed prefix), `nodes` node executions and one app log each */
  const seedBulk = async (w: RetentionWorld, runs: number, nodes: number) => {
    await bulkInsert(w, 'workflow_runs', runs, {
      id: S.id(SEEDED, 'g'),
      tenant_id: `'${w.tenant}'`,
      app_id: `'${w.app}'`,
      status: `'succeeded'`,
      created_at: S.plusSeconds(S.daysAgo(60), 'g'),
    })
    await bulkInsert(w, 'workflow_node_executions', runs * nodes, {
      tenant_id: `'${w.tenant}'`,
      app_id: `'${w.app}'`,
      workflow_run_id: S.id(SEEDED, `1 + ${S.div('g - 1', nodes)}`),
      outputs: `repeat('o', 200)`,
      created_at: S.daysAgo(60),
    })
    await bulkInsert(w, 'workflow_app_logs', runs, {
      tenant_id: `'${w.tenant}'`,
      app_id: `'${w.app}'`,
      workflow_run_id: S.id(SEEDED, 'g'),
      created_at: S.daysAgo(60),
    })
    await w.query(dialect === 'postgres' ? 'analyze' : 'analyze table workflow_runs, workflow_node_executions')
  }

  describe(`dify retention clean under load (${name}, Dify 1.15.0)`, () => {
    let w: RetentionWorld
    let redis: ScratchRedis
    beforeAll(async () => {
      w = await retentionWorld(`retload${dialect}`, dialect, '1.15.0')
      redis = await scratchRedis(`retload${dialect}`)
      await seedBulk(w, sizes.runs, sizes.nodesPerRun)
    }, 300_000)
    afterAll(async () => {
      await redis?.drop()
      await w?.close()
    })

    it('a concurrent writer that works as Dify does never fails and never waits longer than lock_timeout + one batch', async () => {
      const rt = new Runtime(loadConfig({ env: w.env, noDotenv: true, cwd: tmpdir() }), {
        lockTimeoutMs: 2000,
        statementTimeoutMs: 60_000,
      })
      const writer = await connectScratch(w.scratch)
      const durations: number[] = []
      const errors: unknown[] = []
      let stop = false
      const timed = async (text: string, params: unknown[]) => {
        const t0 = performance.now()
        try {
          await writer.query(text, params)
        } catch (e) {
          errors.push(e)
        }
        durations.push(performance.now() - t0)
      }
      const write = async () => {
        while (!stop) {
          const run = randomUUID()
          await timed(
            `insert into workflow_runs (id, tenant_id, app_id, workflow_id, type, triggered_from, version, graph, status, created_by_role, created_by, created_at)
             values ($1, $2, $3, $4, 'workflow', 'app-run', 'v1', '{}', 'running', 'account', $5, ${S.now})`,
            [run, w.tenant, w.app, randomUUID(), randomUUID()],
          )
          for (let i = 0; i < 5; i++) {
            const ne = randomUUID()
            await timed(
              `insert into workflow_node_executions (id, tenant_id, app_id, workflow_id, triggered_from, workflow_run_id, "index", node_id, node_type, title, status, elapsed_time, created_by_role, created_by, created_at)
               values ($1, $2, $3, $4, 'workflow-run', $5, $6, 'n', 'llm', 't', 'running', 0, 'account', $7, ${S.now})`,
              [ne, w.tenant, w.app, randomUUID(), run, i, randomUUID()],
            )
            await timed(`update workflow_node_executions set status = 'succeeded', outputs = '{}' where id = $1`, [ne])
          }
          await timed(`update workflow_runs set status = 'succeeded', finished_at = ${S.now} where id = $1`, [run])
          await timed(
            `insert into workflow_app_logs (id, tenant_id, app_id, workflow_id, workflow_run_id, created_from, created_by_role, created_by, created_at)
             values ($1, $2, $3, $4, $5, 'service-api', 'account', $6, ${S.now})`,
            [randomUUID(), w.tenant, w.app, randomUUID(), run, randomUUID()],
          )
        }
      }
      const writing = write()
      const db = await rt.db()
      let r
      try {
        r = await retentionClean(
          { db, profile: await loadProfile(db) },
          { olderThanSeconds: 30 * DAY, groups: ['workflow'], batchSize: 100, sleepBetweenMs: 0 },
        )
      } finally {
        stop = true
        await writing
        await writer.end()
        await rt.close()
      }
      const worst = Math.max(...durations)
      console.log(
        `load (${name}): ${r.batches} batches, longest batch ${r.maxBatchMs} ms, retries ${r.retries}, writer's worst statement ${worst.toFixed(0)} ms over ${durations.length}, ${errors.length} failed`,
      )
      expect(errors).toEqual([])
      expect(durations.length).toBeGreaterThan(50)
      expect(worst).toBeLessThan(2000 + r.maxBatchMs)
      expect(r.tables.find((t) => t.table === 'workflow_node_executions')!.rowsDeleted).toBeGreaterThanOrEqual(
        sizes.runs * sizes.nodesPerRun,
      )
      // only the writer's young runs (and the world's young/running/paused) are left
      expect(await oldClosedLeft(w)).toBe(0)
    }, 600_000)

    it('SIGKILL of the built CLI mid-run, then rerun: same end state, every deleted row archived exactly once', async () => {
      await seedBulk(w, sizes.killRuns, sizes.nodesPerRun) // the same runs again (the first test deleted them)
      const before = {
        nodes: await count(w, 'workflow_node_executions'),
        runs: await count(w, 'workflow_runs'),
        logs: await count(w, 'workflow_app_logs'),
      }
      const archive = join(mkdtempSync(join(tmpdir(), 'dops-retkill-')), 'a')
      const env = { ...w.env, ...redis.env }
      const args = [
        ...`retention clean --older-than 30d --tables workflow --sleep-between 0 --yes`.split(' '),
        ...['--batch-size', String(sizes.killBatch), '--archive-dir', archive],
      ]
      const { child, done } = startCli(args, env)
      await waitForBatches(w, done, 3, archive) // a few committed batches, then kill -9 mid-run
      child.kill('SIGKILL')
      await done
      expect(await count(w, 'workflow_runs')).toBeLessThan(before.runs)
      expect(await oldClosedLeft(w)).toBeGreaterThan(0) // it was stopped midway
      const rerun = await runCli([...args, '--json'], { env, timeoutMs: 300_000 })
      expect(rerun.code, rerun.stderr).toBe(0)
      expect(rerun.json.resumed).toEqual(['workflow'])
      expect(await oldClosedLeft(w)).toBe(0)
      const archived = (table: string) => {
        const ids = new Set<string>()
        let n = 0
        for (const b of listBatches(archive, 'workflow'))
          for (const row of readBatchTable(archive, 'workflow', b, table)) {
            ids.add(row.id!)
            n++
          }
        expect(ids.size, `${table}: duplicates in the archive`).toBe(n)
        return n
      }
      // the end state of an uninterrupted clean: exactly the reseeded runs and what belongs to them went, each archived once
      const gone = {
        nodes: before.nodes - (await count(w, 'workflow_node_executions')),
        runs: before.runs - (await count(w, 'workflow_runs')),
        logs: before.logs - (await count(w, 'workflow_app_logs')),
      }
      expect(gone).toEqual({ nodes: sizes.killRuns * sizes.nodesPerRun, runs: sizes.killRuns, logs: sizes.killRuns })
      expect(archived('workflow_node_executions')).toBe(gone.nodes)
      expect(archived('workflow_runs')).toBe(gone.runs)
      expect(archived('workflow_app_logs')).toBe(gone.logs)
      // and restore puts every one of them back
      const restored = await runCli(['retention', 'restore', archive, '--json'], { env, timeoutMs: 300_000 })
      expect(restored.code, restored.stderr).toBe(0)
      expect({
        nodes: await count(w, 'workflow_node_executions'),
        runs: await count(w, 'workflow_runs'),
        logs: await count(w, 'workflow_app_logs'),
      }).toEqual(before)
      // gone again for the next tests
      for (const [table, col] of [
        ['workflow_node_executions', 'workflow_run_id'],
        ['workflow_app_logs', 'workflow_run_id'],
        ['workflow_runs', 'id'],
      ])
        await w.query(`delete from ${table} where ${S.idLike(col!, SEEDED)}`)
    }, 600_000)

    it('SIGKILL in the middle of a run of multi-batch blocks (no archive), then rerun: exact end state and checkpoint', async () => {
      // PostgreSQL: without an archive several batches go per round trip (a DO block committing each); MariaDB: one
      // batch per transaction. Either way a kill -9 loses at most the batch in flight, and the checkpoint says which.
      await seedBulk(w, sizes.killRuns, sizes.nodesPerRun)
      const before = {
        nodes: await count(w, 'workflow_node_executions'),
        runs: await count(w, 'workflow_runs'),
        logs: await count(w, 'workflow_app_logs'),
      }
      const base = (await checkpointBatches(w, 'done')) ?? 0
      const batch = Math.max(1, Math.floor(sizes.killRuns / 50))
      const env = { ...w.env, ...redis.env }
      const args = [
        ...`retention clean --older-than 30d --tables workflow --sleep-between 0 --yes`.split(' '),
        ...['--batch-size', String(batch)],
      ]
      const { child, done } = startCli(args, env)
      await waitForBatches(w, done, base + 3)
      child.kill('SIGKILL')
      await done
      expect(await oldClosedLeft(w)).toBeGreaterThan(0) // it was stopped midway
      const rerun = await runCli([...args, '--json'], { env, timeoutMs: 300_000 })
      expect(rerun.code, rerun.stderr).toBe(0)
      expect(rerun.json).toMatchObject({ resumed: ['workflow'], complete: true })
      expect(await oldClosedLeft(w)).toBe(0)
      const gone = {
        nodes: before.nodes - (await count(w, 'workflow_node_executions')),
        runs: before.runs - (await count(w, 'workflow_runs')),
        logs: before.logs - (await count(w, 'workflow_app_logs')),
      }
      expect(gone).toEqual({ nodes: sizes.killRuns * sizes.nodesPerRun, runs: sizes.killRuns, logs: sizes.killRuns })
      // every batch counted once across the kill: the job's batches and rows in its checkpoint are exact
      const cp = await w.query(
        `select batches, deleted from ${RETENTION_CHECKPOINT_TABLE} where grp = 'workflow' and state = 'done' and job_key = $1`,
        [jobKeyOf({})],
      )
      expect(Number(cp[0]!.batches)).toBe(base + Math.ceil(sizes.killRuns / batch))
      expect(Number(cp[0]!.deleted)).toBe(gone.nodes + gone.runs + gone.logs)
    }, 600_000)

    it('--max-runtime stops right after the batch that crosses it (also inside a block); the rerun completes', async () => {
      await seedBulk(w, sizes.killRuns, sizes.nodesPerRun)
      const runs0 = await count(w, 'workflow_runs')
      const base = (await checkpointBatches(w, 'done')) ?? 0
      const rt = new Runtime(loadConfig({ env: w.env, noDotenv: true, cwd: tmpdir() }), {
        lockTimeoutMs: 2000,
        statementTimeoutMs: 60_000,
      })
      try {
        const db = await rt.db()
        const deps = { db, profile: await loadProfile(db) }
        const input = { olderThanSeconds: 30 * DAY, groups: ['workflow' as const], batchSize: 1, sleepBetweenMs: 0 }
        let firstBatchAt = 0
        const r = await retentionClean(deps, {
          ...input,
          maxRuntimeMs: 300,
          onBatch: () => (firstBatchAt ||= performance.now()),
        })
        const took = performance.now() - firstBatchAt
        expect(r).toMatchObject({ stoppedBy: 'max-runtime', complete: false })
        expect(r.batches).toBeGreaterThan(0)
        expect(r.batches).toBeLessThan(sizes.killRuns)
        // stopped at the deadline (one batch of one run past it, plus scheduling on a loaded machine)
        expect(took).toBeLessThan(300 + 1500)
        // exact: what went is what the checkpoint counts, one run (and its node executions and app log) a batch
        expect(runs0 - (await count(w, 'workflow_runs'))).toBe(r.batches)
        expect(await checkpointBatches(w, 'running')).toBe(base + r.batches)
        expect(r.tables.find((t) => t.table === 'workflow_node_executions')!.rowsDeleted).toBe(
          r.batches * sizes.nodesPerRun,
        )
        const rest = await retentionClean(deps, { ...input, batchSize: 100 })
        expect(rest).toMatchObject({ complete: true, resumed: ['workflow'] })
        expect(await oldClosedLeft(w)).toBe(0)
      } finally {
        await rt.close()
      }
    }, 300_000)

    it('SIGINT to the built CLI finishes the batch in flight and exits 130; the rerun completes', async () => {
      const prefix = '00000000-0000-4000-9000-'
      await bulkInsert(w, 'workflow_runs', 50, {
        id: S.id(prefix, 'g'),
        tenant_id: `'${w.tenant}'`,
        app_id: `'${w.app}'`,
        status: `'failed'`,
        created_at: S.daysAgo(90), // all at the same time: the keyset pages by id within it
      })
      const mine = S.idLike('id', prefix)
      const base = (await checkpointBatches(w, 'done')) ?? 0
      const env = { ...w.env, ...redis.env }
      const args = ['retention', 'clean', '--tables', 'workflow', '--batch-size', '1', '--yes']
      const { child, done } = startCli([...args, '--sleep-between', '300ms'], env)
      await waitForBatches(w, done, base + 2)
      child.kill('SIGINT')
      expect((await done).code).toBe(130)
      const left = await count(w, 'workflow_runs', mine)
      expect(left).toBeGreaterThan(0)
      // every batch that started finished: the rows gone are exactly the checkpoint's batches
      expect(50 - left).toBe((await checkpointBatches(w, 'running'))! - base)
      const rerun = await runCli([...args, '--sleep-between', '0', '--json'], { env, timeoutMs: 120_000 })
      expect(rerun.code, rerun.stderr).toBe(0)
      expect(rerun.json).toMatchObject({ resumed: ['workflow'], complete: true })
      expect(await count(w, 'workflow_runs', mine)).toBe(0)
      expect(await checkpointBatches(w, 'done')).toBe(base + 50)
    }, 180_000)

    it('a run locked by another session: retried until released; held throughout, exit 6 naming the table', async () => {
      const prefix = '00000000-0000-4000-a000-'
      await bulkInsert(w, 'workflow_runs', 3, {
        id: S.id(prefix, 'g'),
        tenant_id: `'${w.tenant}'`,
        app_id: `'${w.app}'`,
        status: `'stopped'`,
        created_at: S.plusSeconds(S.daysAgo(100), 'g'),
      })
      const mine = S.idLike('id', prefix)
      const env = { ...w.env, ...redis.env }
      const args = `retention clean --tables workflow --batch-size 10 --sleep-between 0 --lock-timeout 1 --yes --json`
      const locker = await connectScratch(w.scratch)
      try {
        await locker.query('begin')
        await locker.query(`select id from workflow_runs where ${mine} for update`)
        const held = await runCli(args.split(' '), { env, timeoutMs: 120_000 })
        expect(held.code, held.stderr).toBe(6)
        expect(held.json.error.message).toContain('workflow_runs')
        expect(await count(w, 'workflow_runs', mine)).toBe(3)
        const { done } = startCli(args.split(' '), env)
        await new Promise((r) => setTimeout(r, 2500))
        await locker.query('commit')
        const r = await done
        expect(r.code, r.stderr).toBe(0)
        expect(r.json.retries).toBeGreaterThan(0)
        expect(await count(w, 'workflow_runs', mine)).toBe(0)
      } finally {
        await locker.end()
      }
    }, 180_000)
  })
}
