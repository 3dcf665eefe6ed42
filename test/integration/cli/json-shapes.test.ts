/**
 * Real --json output of the commands that need only Redis (and a database holding alembic_version), validated
 * against the committed schema snapshots (test/fixtures/json-schema/, see test/unit/cli/json-schemas.test.ts).
 * In-process from the sources, no build. Messages are sent by real Celery (apply_async).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runInProcess } from '../../support/in-process.js'
import { validateJson } from '../../support/json-schema.js'
import { scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { alembicOnlyDb } from '../../support/release-db.js'
import { celeryEnv, produce } from '../../support/celery.js'
import { keys } from '../../../src/dify/keys.js'
import Audit from '../../../commands/audit/index.js'
import DbHistory from '../../../commands/db/history.js'
import DbStatus from '../../../commands/db/status.js'
import DbLockClear from '../../../commands/db/lock/clear.js'
import QueueList from '../../../commands/queue/list.js'
import QueueStats from '../../../commands/queue/stats.js'
import QueuePeek from '../../../commands/queue/peek.js'
import QueuePurge from '../../../commands/queue/purge.js'
import QueueTask from '../../../commands/queue/task.js'
import QueueUnacked from '../../../commands/queue/unacked.js'
import QueueRestoreUnacked from '../../../commands/queue/restore-unacked.js'
import QueueWorkers from '../../../commands/queue/workers.js'

let redis: ScratchRedis
let db: Scratch
let env: Record<string, string>
let taskId: string
const QUEUE = 'dataset'

beforeAll(async () => {
  redis = await scratchRedis('jsonshapes')
  db = await alembicOnlyDb('jsonshapes')
  env = { ...redis.env, ...db.env }
  ;[taskId] = produce(celeryEnv(redis.prefix), [
    { task: 'tasks.record', args: ['a'], options: { queue: QUEUE } },
    { task: 'tasks.record', args: ['b'], kwargs: { sleep: 0 }, options: { queue: QUEUE, priority: 6 } },
  ]) as [string]
})

afterAll(async () => {
  await redis?.drop()
  await db?.drop()
})

type Row = [file: string, cmd: Parameters<typeof runInProcess>[0], argv: string[], code?: number]

describe('--json output matches the schema snapshot', () => {
  it.each<Row>([
    ['db-history.json', DbHistory, []],
    ['db-status.json', DbStatus, []],
    ['queue-list.json', QueueList, ['--no-workers']],
    ['queue-stats.json', QueueStats, [QUEUE]],
    ['queue-peek.json', QueuePeek, [QUEUE, '--raw']],
    ['queue-unacked.json', QueueUnacked, []],
    ['queue-restore-unacked.json', QueueRestoreUnacked, ['--dry-run', '--timeout', '0']],
    ['queue-purge.json', QueuePurge, [QUEUE, '--dry-run']],
    ['queue-workers.json', QueueWorkers, ['--timeout', '0.2']],
    ['_error.json', QueuePeek, ['no-such-queue', '--priority', '7'], 2],
  ])('%s', async (file, cmd, argv, code = 0) => {
    const r = await runInProcess(cmd, [...argv, '--json'], { env })
    expect(r.code, r.stdout + r.stderr).toBe(code)
    expect(r.json, r.stdout + r.stderr).toBeTypeOf('object')
    expect(validateJson(file, r.json)).toEqual([])
    if (file === 'queue-peek.json') expect(r.json.messages).toHaveLength(2) // the items were validated too
  })

  it('queue task (a queued message)', async () => {
    const r = await runInProcess(QueueTask, [taskId, '--timeout', '0', '--json'], { env })
    expect(r.code, r.stderr).toBe(0)
    expect(validateJson('queue-task.json', r.json)).toEqual([])
  })

  it('db lock clear (a held lock, then nothing to clear), and the audit line it wrote', async () => {
    await redis.client.set(keys.dbUpgradeLock(redis.prefix), 'x', 'PX', 60_000)
    const held = await runInProcess(DbLockClear, ['--yes', '--json'], { env })
    expect(held.code, held.stderr).toBe(0)
    expect(held.json.deleted).toBe(true)
    expect(validateJson('db-lock-clear.json', held.json)).toEqual([])
    const free = await runInProcess(DbLockClear, ['--dry-run', '--json'], { env })
    expect(free.json.held).toBe(false)
    expect(validateJson('db-lock-clear.json', free.json)).toEqual([])

    const audit = await runInProcess(Audit, ['--json'], { env })
    expect(audit.code, audit.stderr).toBe(0)
    expect(audit.json.entries.length).toBeGreaterThan(0)
    expect(validateJson('audit.json', audit.json)).toEqual([])
  })
})
