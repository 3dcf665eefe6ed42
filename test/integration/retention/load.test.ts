/**
 * `dify retention clean` under load (PostgreSQL, Dify 1.15.0): ~200 000 node executions of old closed runs.
 * - a concurrent writer inserts and finishes runs and node executions the way Dify does (insert run, insert node
 *   executions, update them, update the run) while clean runs: none of its statements fails, none waits longer
 *   than lock_timeout plus one batch;
 * - SIGKILL of the built CLI mid-run, then rerun: the same end state, and the archive holds every deleted row once.
 * Needs `npm run build` (the SIGKILL half spawns dist/).
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Runtime } from '../../../src/runtime/index.js'
import { loadConfig } from '../../../src/config/schema.js'
import { loadProfile } from '../../../src/dify/schema-version.js'
import { retentionClean } from '../../../src/retention/clean.js'
import { listBatches, readBatchTable } from '../../../src/retention/archive.js'
import { RETENTION_CHECKPOINT_TABLE } from '../../../src/retention/checkpoint.js'
import { BIN, runCli } from '../../support/cli.js'
import { PG } from '../../support/services.js'
import { scratchRedis, type ScratchRedis } from '../../support/scratch.js'
import { bulkInsertPg, retentionWorld, type RetentionWorld } from '../../support/retention-world.js'

const DAY = 86_400
const RUNS = 4000
const NODES_PER_RUN = 50

async function seedBulk(w: RetentionWorld): Promise<void> {
  await bulkInsertPg(w, 'workflow_runs', RUNS, {
    id: `('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid`,
    tenant_id: `'${w.tenant}'`,
    app_id: `'${w.app}'`,
    status: `'succeeded'`,
    created_at: `now() at time zone 'utc' - interval '60 days' + g * interval '1 second'`,
  })
  await bulkInsertPg(w, 'workflow_node_executions', RUNS * NODES_PER_RUN, {
    tenant_id: `'${w.tenant}'`,
    app_id: `'${w.app}'`,
    workflow_run_id: `('00000000-0000-4000-8000-' || lpad((1 + (g - 1) / ${NODES_PER_RUN})::text, 12, '0'))::uuid`,
    outputs: `repeat('o', 200)`,
    created_at: `now() at time zone 'utc' - interval '60 days'`,
  })
  await bulkInsertPg(w, 'workflow_app_logs', RUNS, {
    tenant_id: `'${w.tenant}'`,
    app_id: `'${w.app}'`,
    workflow_run_id: `('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid`,
    created_at: `now() at time zone 'utc' - interval '60 days'`,
  })
  await w.query('analyze')
}

describe('dify retention clean under load (PostgreSQL, Dify 1.15.0)', () => {
  let w: RetentionWorld
  let redis: ScratchRedis
  beforeAll(async () => {
    w = await retentionWorld('retload', 'postgres', '1.15.0')
    redis = await scratchRedis('retload')
    await seedBulk(w)
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
    const writer = new pg.Client({ ...PG, database: w.scratch.name })
    await writer.connect()
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
           values ($1, $2, $3, $4, 'workflow', 'app-run', 'v1', '{}', 'running', 'account', $4, now() at time zone 'utc')`,
          [run, w.tenant, w.app, randomUUID()],
        )
        for (let i = 0; i < 5; i++) {
          const ne = randomUUID()
          await timed(
            `insert into workflow_node_executions (id, tenant_id, app_id, workflow_id, triggered_from, workflow_run_id, index, node_id, node_type, title, status, elapsed_time, created_by_role, created_by, created_at)
             values ($1, $2, $3, $4, 'workflow-run', $5, $6, 'n', 'llm', 't', 'running', 0, 'account', $4, now() at time zone 'utc')`,
            [ne, w.tenant, w.app, randomUUID(), run, i],
          )
          await timed(`update workflow_node_executions set status = 'succeeded', outputs = '{}' where id = $1`, [ne])
        }
        await timed(
          `update workflow_runs set status = 'succeeded', finished_at = now() at time zone 'utc' where id = $1`,
          [run],
        )
        await timed(
          `insert into workflow_app_logs (id, tenant_id, app_id, workflow_id, workflow_run_id, created_from, created_by_role, created_by, created_at) values ($1, $2, $3, $4, $5, 'service-api', 'account', $4, now() at time zone 'utc')`,
          [randomUUID(), w.tenant, w.app, randomUUID(), run],
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
    expect(errors).toEqual([])
    expect(durations.length).toBeGreaterThan(50)
    const worst = Math.max(...durations)
    expect(worst).toBeLessThan(2000 + r.maxBatchMs)
    expect(r.tables.find((t) => t.table === 'workflow_node_executions')!.rowsDeleted).toBeGreaterThanOrEqual(
      RUNS * NODES_PER_RUN,
    )
    // only the writer's young runs (and the world's young/running/paused) are left
    const left = await w.query(
      `select count(*)::int as n from workflow_runs where created_at < now() at time zone 'utc' - interval '30 days' and status in ('succeeded','failed','stopped','partial-succeeded')`,
    )
    expect(left[0]!.n).toBe(0)
    console.log(
      `load: ${r.batches} batches, longest batch ${r.maxBatchMs} ms, writer's worst statement ${worst.toFixed(0)} ms over ${durations.length}`,
    )
  }, 600_000)

  it('SIGKILL of the built CLI mid-run, then rerun: same end state, every deleted row archived exactly once', async () => {
    await seedBulk(w) // the same runs again (the first test deleted them)
    const before = Number((await w.query('select count(*)::int as n from workflow_node_executions'))[0]!.n)
    const beforeRuns = Number((await w.query('select count(*)::int as n from workflow_runs'))[0]!.n)
    const beforeLogs = Number((await w.query('select count(*)::int as n from workflow_app_logs'))[0]!.n)
    const archive = join(mkdtempSync(join(tmpdir(), 'dops-retkill-')), 'a')
    const env = { ...w.env, ...redis.env }
    const args = [
      'retention',
      'clean',
      '--older-than',
      '30d',
      '--tables',
      'workflow',
      '--batch-size',
      '200',
      '--sleep-between',
      '0',
      '--archive-dir',
      archive,
      '--yes',
    ]
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env },
      stdio: 'ignore',
    })
    // wait for a few committed batches, then kill -9 mid-run
    for (;;) {
      await new Promise((r) => setTimeout(r, 100))
      const t = await w.query(
        `select count(*)::int as n from information_schema.tables where table_name = '${RETENTION_CHECKPOINT_TABLE}'`,
      )
      if (!t[0]!.n) continue
      const cp = await w.query(
        `select batches from ${RETENTION_CHECKPOINT_TABLE} where grp = 'workflow' and state = 'running'`,
      )
      if (cp.length && Number(cp[0]!.batches) >= 3) break
    }
    child.kill('SIGKILL')
    await new Promise((r) => child.on('close', r))
    const mid = Number((await w.query('select count(*)::int as n from workflow_runs'))[0]!.n)
    expect(mid).toBeLessThan(beforeRuns)
    const rerun = await runCli([...args, '--json'], { env, timeoutMs: 300_000 })
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.json.resumed).toEqual(['workflow'])
    const after = Number((await w.query('select count(*)::int as n from workflow_node_executions'))[0]!.n)
    const afterRuns = Number((await w.query('select count(*)::int as n from workflow_runs'))[0]!.n)
    const afterLogs = Number((await w.query('select count(*)::int as n from workflow_app_logs'))[0]!.n)
    const left = await w.query(
      `select count(*)::int as n from workflow_runs where created_at < now() at time zone 'utc' - interval '30 days' and status in ('succeeded','failed','stopped','partial-succeeded')`,
    )
    expect(left[0]!.n).toBe(0)
    const count = (table: string) => {
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
    expect(count('workflow_node_executions')).toBe(before - after)
    expect(count('workflow_runs')).toBe(beforeRuns - afterRuns)
    expect(count('workflow_app_logs')).toBe(beforeLogs - afterLogs)
  }, 600_000)
  it('SIGINT to the built CLI finishes the batch in flight and exits 130; the checkpoint says where it stopped', async () => {
    await bulkInsertPg(w, 'workflow_runs', 50, {
      id: `('00000000-0000-4000-9000-' || lpad(g::text, 12, '0'))::uuid`,
      tenant_id: `'${w.tenant}'`,
      app_id: `'${w.app}'`,
      status: `'failed'`,
      created_at: `now() at time zone 'utc' - interval '90 days' + g * interval '1 second'`,
    })
    const base = Number(
      (await w.query(`select batches from ${RETENTION_CHECKPOINT_TABLE} where grp = 'workflow' and state = 'done'`))[0]
        ?.batches ?? 0,
    )
    const env = { ...w.env, ...redis.env }
    const args = [
      'retention',
      'clean',
      '--tables',
      'workflow',
      '--batch-size',
      '1',
      '--sleep-between',
      '300ms',
      '--yes',
    ]
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env },
      stdio: 'ignore',
    })
    const jobDone = async () =>
      w.query(`select batches from ${RETENTION_CHECKPOINT_TABLE} where grp = 'workflow' and state = 'running'`)
    for (;;) {
      await new Promise((r) => setTimeout(r, 100))
      const cp = await jobDone()
      if (cp.length && Number(cp[0]!.batches) >= base + 2) break
    }
    child.kill('SIGINT')
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)))
    expect(code).toBe(130)
    const cp = await jobDone()
    const left = Number(
      (
        await w.query(`select count(*)::int as n from workflow_runs where id::text like '00000000-0000-4000-9000-%'`)
      )[0]!.n,
    )
    expect(left).toBeGreaterThan(0)
    expect(50 - left).toBe(Number(cp[0]!.batches) - base)
  }, 120_000)
})
