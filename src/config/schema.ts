import { z } from 'zod'
import { resolve } from 'node:path'
import { ConfigError } from '../core/errors.js'
import { redactUrl } from '../core/redact.js'
import { collectRaw, type LoadOptions, type RawValue } from './load.js'

import type { DbType } from '../core/db.js'
export type { DbType }

/** DIFY_OPS_COMMAND_TIMEOUT's default: seconds one Redis command or database round trip may take (docs/configuration.md) */
export const DEFAULT_COMMAND_TIMEOUT_S = 10
export interface HostPort {
  host: string
  port: number
}

export interface DbConfig {
  type: DbType
  /** true when the embedded PGlite default was chosen because nothing configures a database */
  embedded: boolean
  host: string
  port: number
  user: string
  password: string
  database: string
  /** libpq `options` (PostgreSQL): DB_EXTRAS options merged with `-c timezone=UTC`, as Dify does */
  pgOptions: string
  /** other DB_EXTRAS query parameters (client_encoding from DB_CHARSET among them) */
  extras: Record<string, string>
  pgliteDir: string
}

export interface TlsConfig {
  certReqs: 'CERT_NONE' | 'CERT_OPTIONAL' | 'CERT_REQUIRED'
  ca?: string
  cert?: string
  key?: string
}

export interface RedisConfig {
  mode: 'standalone' | 'sentinel' | 'cluster'
  host: string
  port: number
  username?: string
  password?: string
  db: number
  tls?: TlsConfig
  sentinels: HostPort[]
  sentinelName?: string
  sentinelUsername?: string
  sentinelPassword?: string
  clusters: HostPort[]
  clusterPassword?: string
  /** "" or "<prefix>:" */
  keyPrefix: string
}

export interface BrokerConfig {
  kind: 'redis' | 'sentinel'
  tls: boolean
  hosts: HostPort[]
  db: number
  username?: string
  password?: string
  masterName?: string
  sentinelPassword?: string
  keyPrefix: string
  /** the URL with credentials removed, for display */
  display: string
}

export interface StorageConfig {
  storageType: string
  scheme: string
  /** opendal Operator options (may hold secrets; never print) */
  options: Record<string, string>
  /** human description: scheme and root or bucket */
  location: string
}

export interface Config {
  raw: Map<string, RawValue>
  db: DbConfig
  redis: RedisConfig
  broker?: BrokerConfig
  storage: StorageConfig
  vectorStore: string
  edition: string
  secretKey: string
  accessTokenExpireMinutes: number
  refreshTokenExpireDays: number
  loginLockoutSeconds: number
  auditLog?: string
  connectTimeoutMs: number
  /** DIFY_OPS_COMMAND_TIMEOUT: the deadline of one Redis command / database round trip beyond the statement timeout */
  commandTimeoutMs: number
  celeryQueues?: string[]
  /** CELERY_WORKER_QUEUES: overrides CELERY_QUEUES in the dify-api entrypoint from Dify 1.10.0 */
  celeryWorkerQueues?: string[]
  /** DIFY_OPS_DIFY_ROOT (--dify-root): the Dify code at hand */
  difyRoot?: string
}

// ---------------------------------------------------------------- value parsers
function fail(name: string, value: string | undefined, problem: string, expected: string, secret = false): never {
  const shown = secret || value === undefined ? '' : `=${JSON.stringify(value)}`
  throw new ConfigError(`${name}${shown} is not valid: ${problem}; expected ${expected}.`, {
    hint: `Fix ${name} in the environment or the env file, or unset it to use the default.`,
    details: { variable: name },
  })
}

const intSchema = z
  .string()
  .trim()
  .regex(/^[0-9]+$/)
  .transform(Number)

function int(raw: Map<string, RawValue>, name: string, min: number, max: number, def?: number): number {
  const r = raw.get(name)
  if (!r || r.value.trim() === '') {
    if (def !== undefined) return def
    fail(name, r?.value, 'it is empty', `a whole number from ${min} to ${max}`)
  }
  const parsed = intSchema.safeParse(r.value)
  if (!parsed.success) fail(name, r.value, 'it is not a whole number', `a whole number from ${min} to ${max}`)
  if (parsed.data < min || parsed.data > max)
    fail(name, r.value, 'it is out of range', `a whole number from ${min} to ${max}`)
  return parsed.data
}

function num(raw: Map<string, RawValue>, name: string, def: number): number {
  const r = raw.get(name)
  if (!r || r.value.trim() === '') return def
  const parsed = z.coerce.number().finite().nonnegative().safeParse(r.value)
  if (!parsed.success) fail(name, r.value, 'it is not a number', 'a non-negative number such as 0.1')
  return parsed.data
}

const TRUE = new Set(['1', 'true', 'yes', 'on', 'y', 't'])
const FALSE = new Set(['0', 'false', 'no', 'off', 'n', 'f', ''])
/** A boolean variable's text as pydantic reads it (case-insensitive); anything else is a ConfigError naming it. */
export function parseBoolText(name: string, value: string): boolean {
  const s = value.trim().toLowerCase()
  if (TRUE.has(s)) return true
  if (FALSE.has(s)) return false
  return fail(name, value, 'it is not a boolean', 'true or false')
}

function bool(raw: Map<string, RawValue>, name: string): boolean {
  const r = raw.get(name)
  return r ? parseBoolText(name, r.value) : false
}

function str(raw: Map<string, RawValue>, name: string): string | undefined {
  const r = raw.get(name)
  return r && r.value !== '' ? r.value : undefined
}

function hostPorts(raw: Map<string, RawValue>, name: string, required: boolean): HostPort[] {
  const s = str(raw, name)
  if (!s) {
    if (required) fail(name, undefined, 'it is not set', 'a comma-separated list of host:port')
    return []
  }
  return s.split(',').map((part) => {
    const m = /^\s*\[?([^\]\s]+?)\]?:([0-9]{1,5})\s*$/.exec(part)
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      return fail(name, s, `"${part.trim()}" is not host:port`, 'a comma-separated list of host:port')
    }
    return { host: m[1]!, port: Number(m[2]) }
  })
}

function oneOf<T extends string>(raw: Map<string, RawValue>, name: string, values: readonly T[], def: T): T {
  const r = raw.get(name)
  const s = r?.value.trim() ?? ''
  if (s === '') return def
  if ((values as readonly string[]).includes(s)) return s as T
  return fail(name, s, 'it is not a supported value', values.join(', '))
}

// ---------------------------------------------------------------- groups
const DB_VARS = [
  'DB_TYPE',
  'DB_HOST',
  'DB_PORT',
  'DB_USERNAME',
  'DB_PASSWORD',
  'DB_DATABASE',
  'DB_EXTRAS',
  'DB_CHARSET',
]

function parseDb(raw: Map<string, RawValue>, cwd: string): DbConfig {
  const configured = DB_VARS.some((n) => raw.get(n) && raw.get(n)!.source !== 'default')
  const type = configured
    ? oneOf(raw, 'DB_TYPE', ['postgresql', 'mysql', 'oceanbase', 'pglite'] as const, 'postgresql')
    : 'pglite'
  const extrasText = [
    str(raw, 'DB_EXTRAS') ?? '',
    str(raw, 'DB_CHARSET') ? `client_encoding=${str(raw, 'DB_CHARSET')}` : '',
  ]
    .filter(Boolean)
    .join('&')
  const extras: Record<string, string> = {}
  for (const part of extrasText.split('&')) {
    if (!part) continue
    const eq = part.indexOf('=')
    if (eq <= 0)
      fail(
        'DB_EXTRAS',
        raw.get('DB_EXTRAS')?.value,
        `"${part}" is not key=value`,
        'a query string such as options=-c search_path=myschema',
      )
    extras[decodeURIComponent(part.slice(0, eq))] = decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '))
  }
  const { options, ...rest } = extras
  const pgOptions = [options ?? '', '-c timezone=UTC'].filter(Boolean).join(' ')
  return {
    type,
    embedded: !configured,
    host: str(raw, 'DB_HOST') ?? 'localhost',
    port: int(raw, 'DB_PORT', 1, 65535, 5432), // Dify's default is 5432 whatever DB_TYPE says
    user: str(raw, 'DB_USERNAME') ?? 'postgres',
    password: raw.get('DB_PASSWORD')?.value ?? '',
    database: str(raw, 'DB_DATABASE') ?? 'dify',
    pgOptions,
    extras: rest,
    pgliteDir: resolve(cwd, str(raw, 'PGLITE_DATA_DIR') ?? '.dify-ops/pglite'),
  }
}

function tlsFrom(raw: Map<string, RawValue>): TlsConfig {
  const reqs = (str(raw, 'REDIS_SSL_CERT_REQS') ?? 'CERT_NONE').toUpperCase()
  return {
    // Dify treats unknown values as CERT_NONE
    certReqs: reqs === 'CERT_REQUIRED' || reqs === 'CERT_OPTIONAL' ? reqs : 'CERT_NONE',
    ca: str(raw, 'REDIS_SSL_CA_CERTS'),
    cert: str(raw, 'REDIS_SSL_CERTFILE'),
    key: str(raw, 'REDIS_SSL_KEYFILE'),
  }
}

export function keyPrefixOf(prefix: string | undefined): string {
  const p = (prefix ?? '').trim()
  return p ? `${p}:` : ''
}

function parseRedis(raw: Map<string, RawValue>): RedisConfig {
  const useSentinel = bool(raw, 'REDIS_USE_SENTINEL')
  const useCluster = bool(raw, 'REDIS_USE_CLUSTERS')
  const mode = useSentinel ? 'sentinel' : useCluster ? 'cluster' : 'standalone'
  return {
    mode,
    host: str(raw, 'REDIS_HOST') ?? 'localhost',
    port: int(raw, 'REDIS_PORT', 1, 65535, 6379),
    username: str(raw, 'REDIS_USERNAME'),
    password: str(raw, 'REDIS_PASSWORD'),
    db: int(raw, 'REDIS_DB', 0, 65535, 0),
    tls: bool(raw, 'REDIS_USE_SSL') ? tlsFrom(raw) : undefined,
    sentinels: hostPorts(raw, 'REDIS_SENTINELS', mode === 'sentinel'),
    sentinelName:
      mode === 'sentinel'
        ? (str(raw, 'REDIS_SENTINEL_SERVICE_NAME') ??
          fail('REDIS_SENTINEL_SERVICE_NAME', undefined, 'it is not set', 'the Sentinel master name'))
        : str(raw, 'REDIS_SENTINEL_SERVICE_NAME'),
    sentinelUsername: str(raw, 'REDIS_SENTINEL_USERNAME'),
    sentinelPassword: str(raw, 'REDIS_SENTINEL_PASSWORD'),
    clusters: hostPorts(raw, 'REDIS_CLUSTERS', mode === 'cluster'),
    clusterPassword: str(raw, 'REDIS_CLUSTERS_PASSWORD'),
    keyPrefix: keyPrefixOf(str(raw, 'REDIS_KEY_PREFIX')),
  }
}

/** Parse CELERY_BROKER_URL: redis://[user:pass@]host[:port][/db], rediss://…, sentinel://…;sentinel://… */
export function parseBrokerUrl(url: string, raw: Map<string, RawValue>): BrokerConfig {
  const parts = url
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
  const hosts: HostPort[] = []
  let kind: BrokerConfig['kind'] | undefined
  let tls = false
  let db = 0
  let username: string | undefined
  let password: string | undefined
  for (const part of parts) {
    let u: URL
    try {
      u = new URL(part)
    } catch {
      return fail(
        'CELERY_BROKER_URL',
        undefined,
        'it is not a URL',
        'redis://[:password@]host:port/db, rediss://… or sentinel://…',
        true,
      )
    }
    const scheme = u.protocol.replace(/:$/, '')
    const k = scheme === 'sentinel' ? 'sentinel' : scheme === 'redis' || scheme === 'rediss' ? 'redis' : undefined
    if (!k)
      fail(
        'CELERY_BROKER_URL',
        undefined,
        `the scheme ${scheme}:// is not supported`,
        'redis://, rediss:// or sentinel://',
        true,
      )
    if (kind && kind !== k) fail('CELERY_BROKER_URL', undefined, 'it mixes schemes', 'one scheme for every part', true)
    kind = k
    if (scheme === 'rediss') tls = true
    const port = u.port ? Number(u.port) : k === 'sentinel' ? 26379 : 6379
    hosts.push({ host: u.hostname.replace(/^\[|\]$/g, ''), port })
    const path = u.pathname.replace(/^\//, '')
    if (path) {
      if (!/^[0-9]+$/.test(path))
        fail(
          'CELERY_BROKER_URL',
          undefined,
          `the database "${path}" is not a number`,
          'a URL ending in /<db index>',
          true,
        )
      db = Number(path)
    }
    if (u.username) username = decodeURIComponent(u.username)
    if (u.password) password = decodeURIComponent(u.password)
  }
  if (!kind) fail('CELERY_BROKER_URL', undefined, 'it is empty', 'redis://host:6379/1', true)
  const useSentinel = kind === 'sentinel' || bool(raw, 'CELERY_USE_SENTINEL')
  // kombu's sentinel transport asks the sentinels for this master (Dify passes it as broker_transport_options)
  if (useSentinel && !str(raw, 'CELERY_SENTINEL_MASTER_NAME')) {
    fail(
      'CELERY_SENTINEL_MASTER_NAME',
      undefined,
      `it is not set, and the broker (${kind === 'sentinel' ? 'sentinel:// URL' : 'CELERY_USE_SENTINEL'}) goes through Redis Sentinel`,
      'the Sentinel master name of the broker, as in the dify-api container',
    )
  }
  const display = redactUrl(parts.join(';'))
  return {
    kind: useSentinel ? 'sentinel' : 'redis',
    tls,
    hosts,
    db,
    username,
    password,
    masterName: str(raw, 'CELERY_SENTINEL_MASTER_NAME'),
    sentinelPassword: str(raw, 'CELERY_SENTINEL_PASSWORD'),
    keyPrefix: keyPrefixOf(str(raw, 'REDIS_KEY_PREFIX')),
    display,
  }
}

/** Map Dify's STORAGE_TYPE settings onto an OpenDAL scheme and options. */
export function parseStorage(raw: Map<string, RawValue>, cwd: string): StorageConfig {
  const storageType = (str(raw, 'STORAGE_TYPE') ?? 'opendal').trim()
  if (storageType === 'opendal') {
    const scheme = (str(raw, 'OPENDAL_SCHEME') ?? 'fs').trim()
    const prefix = `OPENDAL_${scheme.toUpperCase()}_`
    const options: Record<string, string> = {}
    for (const [k, v] of raw)
      if (k.startsWith(prefix) && v.value !== '') options[k.slice(prefix.length).toLowerCase()] = v.value
    if (scheme === 'fs') options.root = resolve(cwd, options.root ?? 'storage')
    return { storageType, scheme, options, location: describeLocation(scheme, options) }
  }
  if (storageType === 'local') {
    const options = { root: resolve(cwd, str(raw, 'STORAGE_LOCAL_PATH') ?? 'storage') }
    return { storageType, scheme: 'fs', options, location: describeLocation('fs', options) }
  }
  // options from variables: [option, VARIABLE] pairs, set only when the variable is non-empty
  const pick = (pairs: Array<[string, string]>): Record<string, string> => {
    const o: Record<string, string> = {}
    for (const [k, n] of pairs) {
      const v = str(raw, n)
      if (v) o[k] = v
    }
    return o
  }
  if (storageType === 's3') {
    const options = pick([
      ['bucket', 'S3_BUCKET_NAME'],
      ['region', 'S3_REGION'],
      ['endpoint', 'S3_ENDPOINT'],
    ])
    if (!bool(raw, 'S3_USE_AWS_MANAGED_IAM'))
      Object.assign(
        options,
        pick([
          ['access_key_id', 'S3_ACCESS_KEY'],
          ['secret_access_key', 'S3_SECRET_KEY'],
        ]),
      )
    if ((str(raw, 'S3_ADDRESS_STYLE') ?? 'auto') === 'virtual') options.enable_virtual_host_style = 'true'
    options.region ??= 'us-east-1'
    return { storageType, scheme: 's3', options, location: describeLocation('s3', options) }
  }
  if (storageType === 'azure-blob') {
    const options = pick([
      ['container', 'AZURE_BLOB_CONTAINER_NAME'],
      ['account_name', 'AZURE_BLOB_ACCOUNT_NAME'],
      ['account_key', 'AZURE_BLOB_ACCOUNT_KEY'],
      ['endpoint', 'AZURE_BLOB_ACCOUNT_URL'],
    ])
    return { storageType, scheme: 'azblob', options, location: describeLocation('azblob', options) }
  }
  // Other Dify storage types (aliyun-oss, google-storage, …) use vendor SDKs we do not carry; reported when storage is opened.
  return { storageType, scheme: '', options: {}, location: `${storageType} (not supported by dify-ops)` }
}

function describeLocation(scheme: string, o: Record<string, string>): string {
  if (scheme === 'fs') return `fs:${o.root}`
  if (o.bucket)
    return `${scheme}://${o.bucket}${o.root ? '/' + o.root.replace(/^\//, '') : ''}${o.endpoint ? ` at ${redactUrl(o.endpoint)}` : ''}`
  if (o.container) return `${scheme}://${o.container}${o.endpoint ? ` at ${o.endpoint}` : ''}`
  return `${scheme}:${o.root ?? '/'}`
}

export function parseConfig(raw: Map<string, RawValue>, cwd = process.cwd()): Config {
  const brokerUrl = str(raw, 'CELERY_BROKER_URL')
  const queues = str(raw, 'CELERY_QUEUES')
  const workerQueues = str(raw, 'CELERY_WORKER_QUEUES')
  const commaList = (v: string | undefined) =>
    v
      ? v
          .split(',')
          .map((q) => q.trim())
          .filter(Boolean)
      : undefined
  return {
    raw,
    db: parseDb(raw, cwd),
    redis: parseRedis(raw),
    broker: brokerUrl ? parseBrokerUrl(brokerUrl, raw) : undefined,
    storage: parseStorage(raw, cwd),
    vectorStore: (str(raw, 'VECTOR_STORE') ?? 'weaviate').trim().toLowerCase(),
    edition: oneOf(raw, 'EDITION', ['SELF_HOSTED', 'CLOUD'] as const, 'SELF_HOSTED'),
    secretKey: raw.get('SECRET_KEY')?.value ?? '',
    accessTokenExpireMinutes: int(raw, 'ACCESS_TOKEN_EXPIRE_MINUTES', 1, 10_000_000, 60),
    refreshTokenExpireDays: int(raw, 'REFRESH_TOKEN_EXPIRE_DAYS', 1, 100_000, 30),
    loginLockoutSeconds: int(raw, 'LOGIN_LOCKOUT_DURATION', 1, 100_000_000, 86400),
    auditLog: str(raw, 'DIFY_OPS_AUDIT_LOG'),
    connectTimeoutMs: Math.round(num(raw, 'DIFY_OPS_CONNECT_TIMEOUT', 3) * 1000),
    commandTimeoutMs: Math.round(num(raw, 'DIFY_OPS_COMMAND_TIMEOUT', DEFAULT_COMMAND_TIMEOUT_S) * 1000),
    celeryQueues: commaList(queues),
    celeryWorkerQueues: commaList(workerQueues),
    difyRoot: str(raw, 'DIFY_OPS_DIFY_ROOT'),
  }
}

export function loadConfig(opts: LoadOptions = {}): Config {
  return parseConfig(collectRaw(opts), opts.cwd ?? process.cwd())
}
