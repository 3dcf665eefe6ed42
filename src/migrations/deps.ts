import type { Runtime } from '../runtime/index.js'
import { loadPrecompiled } from './compiled.js'
import type { SqlDialect } from './types.js'

/**
 * The dependencies of the migration domain functions, taken from a command's Runtime (connections lazy). Opening the
 * database also loads the connected dialect's build-time SQL (compiled.ts), in parallel with the connect.
 */
export function migrationDeps(rt: Runtime) {
  return {
    db: async () => (await Promise.all([rt.db(), loadPrecompiled(dialectOf(rt))]))[0],
    redis: () => rt.redis(),
    database: rt.config.db.database,
  }
}

export function dialectOf(rt: Runtime): SqlDialect {
  return rt.config.db.type === 'mysql' || rt.config.db.type === 'oceanbase' ? 'mysql' : 'postgres'
}
