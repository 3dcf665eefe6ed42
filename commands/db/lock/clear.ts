import { DifyCommand } from '../../../src/cli/command.js'
import { writeFlags, yesFlag } from '../../../src/cli/flags.js'
import { confirmOrStop } from '../../../src/cli/prompt.js'
import { keys } from '../../../src/dify/keys.js'
import { clearRedisLock, inspectRedisLock } from '../../../src/migrations/lock.js'
import { lockClearDanger, renderLockClear } from '../../../src/migrations/render.js'

interface ClearResult {
  key: string
  held: boolean
  ttlMs: number | null
  deleted: boolean
  dryRun: boolean
}

export default class DbLockClear extends DifyCommand {
  static override writes = true
  static override summary = "Delete Dify's upgrade lock (db_upgrade_lock) left behind by a crashed upgrade."
  static override description = `DANGER: if an upgrade (Dify's flask upgrade-db or dify upgrade-db) is really running, deleting its lock lets a second
upgrade start beside it and can corrupt the schema. Use it only when no upgrade is running (check dify db status and the containers).`
  static override examples = ['<%= config.bin %> db lock clear --yes', '<%= config.bin %> db lock clear --dry-run']
  static override flags = {
    ...writeFlags,
    ...yesFlag,
  }

  async run(): Promise<ClearResult> {
    const { flags } = await this.parse(DbLockClear)
    const redis = await this.runtime().redis()
    const key = keys.dbUpgradeLock(redis.keyPrefix)
    const h = await inspectRedisLock(redis.client, redis.keyPrefix)
    if (!h.held) {
      this.out.lines(renderLockClear({ key, ...h }, 'not-held'))
      return { key, ...h, deleted: false, dryRun: this.dryRun }
    }
    if (flags['dry-run']) {
      this.out.lines(renderLockClear({ key, ...h }, 'dry-run'))
      return { key, ...h, deleted: false, dryRun: true }
    }
    if (!this.out.json) this.out.stderr(lockClearDanger(key, h.ttlMs))
    await confirmOrStop(`Delete ${key}?`, { yes: flags.yes, declined: 'Not confirmed: the lock was left in place.' })
    const r = await clearRedisLock(redis.client, redis.keyPrefix)
    this.auditCounts = { deleted: r.held ? 1 : 0 }
    this.out.lines(renderLockClear({ ...r, key }, 'done'))
    return { key, held: r.held, ttlMs: r.ttlMs, deleted: r.held, dryRun: false }
  }
}
