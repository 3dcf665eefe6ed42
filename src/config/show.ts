import type { Config } from './schema.js'
import { VARIABLES, VARIABLE_BY_NAME } from './variables.js'
import { isSecretName, redactValue } from '../core/redact.js'

export interface ShownVariable {
  name: string
  group: string
  value: string | null
  source: string
  secret: boolean
}

export interface ShownConfig {
  variables: ShownVariable[]
  effective: {
    database: string
    redis: string
    broker: string | null
    storage: string
    vectorStore: string
    edition: string
  }
  /** where SECRET_KEY comes from (never its value); absent when not resolved */
  secretKey?: SecretKeySource
}

/** Where SECRET_KEY comes from (src/dify/secret-key.ts decides it; never the key itself). */
export interface SecretKeySource {
  source: 'environment' | 'env-file' | 'dotenv' | 'flag' | 'default' | 'storage' | 'missing'
  /** the env file, or the storage location and object */
  from: string | null
  /** how the release treats an empty SECRET_KEY; null when the release is not known */
  generatedByDify: boolean | null
  /** why the storage was not read or what it holds, in words */
  note: string | null
}

/** The effective configuration with every secret redacted and the source of every value. */
export function showConfig(cfg: Config, secretKey?: SecretKeySource): ShownConfig {
  const names = new Set<string>(VARIABLES.map((v) => v.name))
  for (const k of cfg.raw.keys()) names.add(k)
  const variables: ShownVariable[] = []
  for (const name of names) {
    const spec = VARIABLE_BY_NAME.get(name)
    const r = cfg.raw.get(name)
    const secret = spec?.secret ?? isSecretName(name)
    const shown = r === undefined ? null : secret && r.value !== '' ? '***' : (redactValue(name, r.value) ?? null)
    variables.push({
      name,
      group: spec?.group ?? (name.startsWith('OPENDAL_') ? 'storage' : 'other'),
      value: shown,
      source: r === undefined ? 'unset' : r.file ? `${r.source} (${r.file})` : r.source,
      secret,
    })
  }
  const order = ['database', 'redis', 'celery', 'storage', 'vector', 'deploy', 'dify-ops', 'other']
  variables.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group) || a.name.localeCompare(b.name))
  const db = cfg.db
  return {
    variables,
    effective: {
      database:
        db.type === 'pglite'
          ? `pglite:${db.pgliteDir}${db.embedded ? ' (embedded default: no DB_* variable is set)' : ''}`
          : `${db.type}://${db.host}:${db.port}/${db.database}`,
      redis:
        cfg.redis.mode === 'standalone'
          ? `redis${cfg.redis.tls ? 's' : ''}://${cfg.redis.host}:${cfg.redis.port}/${cfg.redis.db}`
          : `${cfg.redis.mode}:${(cfg.redis.mode === 'sentinel' ? cfg.redis.sentinels : cfg.redis.clusters).map((h) => `${h.host}:${h.port}`).join(',')}`,
      broker: cfg.broker?.display ?? null,
      storage: cfg.storage.location,
      vectorStore: cfg.vectorStore,
      edition: cfg.edition,
    },
    ...(secretKey ? { secretKey } : {}),
  }
}
