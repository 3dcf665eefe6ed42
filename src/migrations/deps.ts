import type { Runtime } from '../runtime/index.js'
import type { SqlDialect } from './types.js'

/** The dependencies of the migration domain functions, taken from a command's Runtime (connections lazy). */
export function migrationDeps(rt: Runtime) {
  return {
    db: () => rt.db(),
    redis: () => rt.redis(),
    database: rt.config.db.database,
  }
}

export function dialectOf(rt: Runtime): SqlDialect {
  return rt.config.db.type === 'mysql' || rt.config.db.type === 'oceanbase' ? 'mysql' : 'postgres'
}
