import { describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../src/config/schema.js'
import { parseEnvText } from '../../../src/config/env-file.js'
import { ConfigError } from '../../../src/core/errors.js'

const load = (env: Record<string, string>, extra: Parameters<typeof loadConfig>[0] = {}) =>
  loadConfig({ env, noDotenv: true, cwd: '/app/api', ...extra })

describe('configuration', () => {
  it('uses the embedded PGlite default when no DB_* variable is set', () => {
    const c = load({})
    expect(c.db.type).toBe('pglite')
    expect(c.db.embedded).toBe(true)
    expect(c.db.pgliteDir).toBe('/app/api/.dify-ops/pglite')
  })

  it('reads Dify defaults once any DB_* is set, and merges DB_EXTRAS options with timezone=UTC', () => {
    const c = load({ DB_HOST: 'db', DB_EXTRAS: 'options=-c search_path=myschema&sslmode=require', DB_CHARSET: 'utf8' })
    expect(c.db).toMatchObject({
      type: 'postgresql',
      host: 'db',
      port: 5432,
      user: 'postgres',
      database: 'dify',
      embedded: false,
    })
    expect(c.db.pgOptions).toBe('-c search_path=myschema -c timezone=UTC')
    expect(c.db.extras).toEqual({ sslmode: 'require', client_encoding: 'utf8' })
  })

  it("keeps Dify's DB_PORT default (5432) even for mysql, as dify-api would", () => {
    expect(load({ DB_TYPE: 'mysql' }).db.port).toBe(5432)
    expect(load({ DB_TYPE: 'oceanbase', DB_PORT: '2881' }).db.port).toBe(2881)
  })

  it.each([
    [{ DB_PORT: 'abc' }, 'DB_PORT'],
    [{ DB_TYPE: 'oracle' }, 'DB_TYPE'],
    [{ REDIS_USE_SENTINEL: 'true', REDIS_SENTINELS: 'garbage', REDIS_SENTINEL_SERVICE_NAME: 'm' }, 'REDIS_SENTINELS'],
    [{ REDIS_PORT: '70000' }, 'REDIS_PORT'],
    [{ REDIS_USE_SSL: 'maybe' }, 'REDIS_USE_SSL'],
    [{ CELERY_BROKER_URL: 'amqp://guest@rabbit//' }, 'CELERY_BROKER_URL'],
  ])('rejects %o naming the variable (exit 4)', (env, name) => {
    try {
      load(env)
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError)
      expect((e as ConfigError).exitCode).toBe(4)
      expect((e as Error).message).toContain(name)
    }
  })

  it('never puts a secret value in an error message', () => {
    try {
      load({ CELERY_BROKER_URL: 'amqp://u:hunter2@rabbit//' })
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2')
    }
  })

  it('parses the broker URL with its own DB index, password and sentinel lists', () => {
    const c = load({ CELERY_BROKER_URL: 'redis://:difyai123456@redis:6379/1' })
    expect(c.broker).toMatchObject({
      kind: 'redis',
      hosts: [{ host: 'redis', port: 6379 }],
      db: 1,
      password: 'difyai123456',
      tls: false,
    })
    expect(c.broker!.display).toBe('redis://***@redis:6379/1')
    // a raw @ in the password: URL parsers (and kombu) split at the last @, so must the redaction
    const at = load({ CELERY_BROKER_URL: 'redis://:p@ss@redis:6379/1' })
    expect(at.broker!.password).toBe('p@ss')
    expect(at.broker!.display).toBe('redis://***@redis:6379/1')
    const s = load({
      CELERY_BROKER_URL: 'sentinel://:pw@s1:26379/2;sentinel://:pw@s2:26380/2',
      CELERY_SENTINEL_MASTER_NAME: 'mymaster',
    })
    expect(s.broker!.display).toBe('sentinel://***@s1:26379/2;sentinel://***@s2:26380/2')
    expect(s.broker).toMatchObject({
      kind: 'sentinel',
      db: 2,
      masterName: 'mymaster',
      hosts: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
    })
    expect(load({ CELERY_BROKER_URL: 'rediss://redis:6380/1' }).broker!.tls).toBe(true)
  })

  it('follows Dify: sentinel wins over cluster wins over standalone; REDIS_KEY_PREFIX becomes "<p>:"', () => {
    const c = load({ REDIS_USE_CLUSTERS: 'true', REDIS_CLUSTERS: 'a:7000,b:7001', REDIS_KEY_PREFIX: ' tenantA ' })
    expect(c.redis.mode).toBe('cluster')
    expect(c.redis.clusters).toEqual([
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
    ])
    expect(c.redis.keyPrefix).toBe('tenantA:')
    expect(
      load({
        REDIS_USE_CLUSTERS: 'true',
        REDIS_CLUSTERS: 'a:1',
        REDIS_USE_SENTINEL: 'true',
        REDIS_SENTINELS: 's:26379',
        REDIS_SENTINEL_SERVICE_NAME: 'm',
      }).redis.mode,
    ).toBe('sentinel')
  })

  it('maps storage settings onto OpenDAL like Dify (OPENDAL_<SCHEME>_<KEY> lower-cased, fs root relative to cwd)', () => {
    expect(load({}).storage).toMatchObject({ scheme: 'fs', options: { root: '/app/api/storage' } })
    const s3 = load({
      STORAGE_TYPE: 'opendal',
      OPENDAL_SCHEME: 's3',
      OPENDAL_S3_BUCKET: 'b',
      OPENDAL_S3_ACCESS_KEY_ID: 'AK',
    }).storage
    expect(s3).toMatchObject({ scheme: 's3', options: { bucket: 'b', access_key_id: 'AK' } })
    expect(load({ STORAGE_TYPE: 'local', STORAGE_LOCAL_PATH: '/data' }).storage.options.root).toBe('/data')
    const legacy = load({
      STORAGE_TYPE: 's3',
      S3_BUCKET_NAME: 'difyai',
      S3_ACCESS_KEY: 'k',
      S3_SECRET_KEY: 's',
      S3_REGION: 'eu-west-1',
    }).storage
    expect(legacy).toMatchObject({
      scheme: 's3',
      options: { bucket: 'difyai', region: 'eu-west-1', access_key_id: 'k', secret_access_key: 's' },
    })
  })

  it('precedence: flags > --env-file > environment > ./.env > defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dops-cfg-'))
    writeFileSync(join(dir, '.env'), 'DB_HOST=from-dotenv\nDB_DATABASE=dotdb\nREDIS_DB=3\n')
    writeFileSync(join(dir, 'other.env'), 'export DB_HOST="from-envfile" # comment\n')
    const env = { DB_HOST: 'from-env', DB_DATABASE: 'envdb' }
    expect(loadConfig({ env, cwd: dir }).db.host).toBe('from-env')
    expect(loadConfig({ env: {}, cwd: dir }).db.host).toBe('from-dotenv')
    expect(loadConfig({ env, cwd: dir }).redis.db).toBe(3)
    const c = loadConfig({ env, cwd: dir, envFile: 'other.env' })
    expect(c.db.host).toBe('from-envfile')
    expect(c.raw.get('DB_HOST')!.source).toBe('env-file')
    expect(loadConfig({ env, cwd: dir, envFile: 'other.env', flags: { DB_HOST: 'flag' } }).db.host).toBe('flag')
  })

  it('parses dotenv quirks', () => {
    expect(parseEnvText('A=1\n# c\nexport B = "two\\nlines"\nC=\'x # y\'\nD=plain # trailing\nE=\n')).toEqual({
      A: '1',
      B: 'two\nlines',
      C: 'x # y',
      D: 'plain',
      E: '',
    })
  })
})

describe('release-profile variables', () => {
  it('reads CELERY_WORKER_QUEUES and DIFY_OPS_DIFY_ROOT; empty counts as unset (bash -n / :-)', () => {
    const c = load({
      CELERY_QUEUES: 'dataset, mail',
      CELERY_WORKER_QUEUES: 'retention,,api_token ',
      DIFY_OPS_DIFY_ROOT: '/src/dify',
    })
    expect(c.celeryQueues).toEqual(['dataset', 'mail'])
    expect(c.celeryWorkerQueues).toEqual(['retention', 'api_token'])
    expect(c.difyRoot).toBe('/src/dify')
    const e = load({ CELERY_WORKER_QUEUES: '', DIFY_OPS_DIFY_ROOT: '' })
    expect(e.celeryWorkerQueues).toBeUndefined()
    expect(e.difyRoot).toBeUndefined()
  })
})
