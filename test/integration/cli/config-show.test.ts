import { describe, expect, it } from 'vitest'
import { runCli } from '../../support/cli.js'

const SECRETS = {
  DB_HOST: 'db',
  DB_PASSWORD: 'db-pass-Zq1',
  REDIS_PASSWORD: 'redis-pass-Zq2',
  SECRET_KEY: 'sk-secret-Zq3',
  CELERY_BROKER_URL: 'redis://:broker-pass-Zq4@redis:6379/1',
  S3_SECRET_KEY: 's3-secret-Zq5',
  S3_ACCESS_KEY: 'AKIA-Zq6',
  OPENDAL_SCHEME: 's3',
  OPENDAL_S3_SECRET_ACCESS_KEY: 'odal-secret-Zq7',
  PGVECTOR_PASSWORD: 'pgv-Zq8',
  QDRANT_API_KEY: 'qd-Zq9',
  ELASTICSEARCH_HOST: 'https://elastic:es-Zq10@es:9200',
  REDIS_SENTINEL_PASSWORD: 'sent-Zq11',
}

describe('dify config show', () => {
  it.each([[[]], [['--json']]])('never prints a password, key or credential in a URL (%s)', async (extra) => {
    const r = await runCli(['config', 'show', ...extra], { env: SECRETS })
    expect(r.code).toBe(0)
    for (const v of Object.values(SECRETS).filter((s) => /Zq/.test(s))) {
      const secretPart = v.match(/[a-z0-9-]*Zq[0-9]+/i)![0]
      expect(r.stdout + r.stderr).not.toContain(secretPart)
    }
    expect(r.stdout).toContain('DB_HOST')
  })

  it('reports where each value came from', async () => {
    const r = await runCli(['config', 'show', '--json'], { env: { DB_HOST: 'db' } })
    const v = r.json.variables.find((x: { name: string }) => x.name === 'DB_HOST')
    expect(v).toMatchObject({ value: 'db', source: 'environment' })
    expect(r.json.variables.find((x: { name: string }) => x.name === 'DB_PORT')).toMatchObject({
      value: '5432',
      source: 'default',
    })
  })

  it('exits 4 naming the variable for a bad value', async () => {
    const r = await runCli(['config', 'show'], { env: { DB_PORT: 'abc' } })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('DB_PORT')
    const j = await runCli(['config', 'show', '--json'], { env: { DB_PORT: 'abc' } })
    expect(j.code).toBe(4)
    expect(j.json.error).toMatchObject({ code: 'CONFIG', exitCode: 4 })
  })

  it('an unknown flag is a usage error (exit 2)', async () => {
    const r = await runCli(['config', 'show', '--nope'])
    expect(r.code).toBe(2)
  })
})
