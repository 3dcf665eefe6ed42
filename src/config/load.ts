import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { readEnvFile } from './env-file.js'
import { ConfigError } from '../core/errors.js'
import { VARIABLES } from './variables.js'

export type Source = 'flag' | 'env-file' | 'environment' | 'dotenv' | 'default'

export interface RawValue {
  value: string
  source: Source
  /** the file for env-file / dotenv sources */
  file?: string
}

export interface LoadOptions {
  /** process environment (defaults to process.env) */
  env?: NodeJS.ProcessEnv
  /** explicit --env-file; it wins over the process environment */
  envFile?: string
  /** values given by flags; they win over everything */
  flags?: Record<string, string | undefined>
  /** working directory in which ./.env is looked up */
  cwd?: string
  /** do not read ./.env (tests) */
  noDotenv?: boolean
}

/**
 * Collect raw variable values with their source.
 * Precedence: flags > --env-file > process environment > ./.env > defaults.
 * ./.env only fills what the environment does not set (as python-dotenv does in Dify).
 */
export function collectRaw(opts: LoadOptions = {}): Map<string, RawValue> {
  const env = opts.env ?? process.env
  const cwd = opts.cwd ?? process.cwd()
  const out = new Map<string, RawValue>()

  for (const spec of VARIABLES) {
    if (spec.default !== undefined) out.set(spec.name, { value: spec.default, source: 'default' })
  }
  const dotenvPath = resolve(cwd, '.env')
  if (!opts.noDotenv && existsSync(dotenvPath) && resolve(opts.envFile ?? '') !== dotenvPath) {
    for (const [k, v] of Object.entries(readEnvFile(dotenvPath)))
      out.set(k, { value: v, source: 'dotenv', file: dotenvPath })
  }
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && isRelevant(k)) out.set(k, { value: v, source: 'environment' })
  }
  if (opts.envFile) {
    const p = resolve(cwd, opts.envFile)
    if (!existsSync(p)) {
      throw new ConfigError(`The env file ${opts.envFile} does not exist.`, {
        hint: 'Check the path given to --env-file.',
      })
    }
    let parsed: Record<string, string>
    try {
      parsed = readEnvFile(p)
    } catch (e) {
      throw new ConfigError(`The env file ${opts.envFile} cannot be read: ${(e as Error).message}.`)
    }
    for (const [k, v] of Object.entries(parsed)) out.set(k, { value: v, source: 'env-file', file: p })
  }
  for (const [k, v] of Object.entries(opts.flags ?? {})) {
    if (v !== undefined) out.set(k, { value: v, source: 'flag' })
  }
  return out
}

const RELEVANT_PREFIXES = [
  'DB_',
  'REDIS_',
  'CELERY_',
  'STORAGE_',
  'OPENDAL_',
  'S3_',
  'AZURE_BLOB_',
  'VECTOR_',
  'PGVECTOR_',
  'CHROMA_',
  'QDRANT_',
  'WEAVIATE_',
  'MILVUS_',
  'ELASTICSEARCH_',
  'OPENSEARCH_',
  'DIFY_OPS_',
  'PGLITE_',
]
const RELEVANT_NAMES = new Set([
  'EDITION',
  'DEPLOY_ENV',
  'SECRET_KEY',
  'ACCESS_TOKEN_EXPIRE_MINUTES',
  'REFRESH_TOKEN_EXPIRE_DAYS',
  'LOGIN_LOCKOUT_DURATION',
  'FORGOT_PASSWORD_LOCKOUT_DURATION',
  'CHANGE_EMAIL_LOCKOUT_DURATION',
  'OWNER_TRANSFER_LOCKOUT_DURATION',
  'EMAIL_REGISTER_LOCKOUT_DURATION',
  'MIGRATION_ENABLED',
])

function isRelevant(name: string): boolean {
  return RELEVANT_NAMES.has(name) || RELEVANT_PREFIXES.some((p) => name.startsWith(p))
}
