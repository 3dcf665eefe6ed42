import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../src/config/schema.js'
import { Runtime } from '../../../src/runtime/index.js'
import { buildAuditEntry, readAudit, writeAudit } from '../../../src/audit/log.js'
import { scratchRedis, type ScratchRedis } from '../../support/scratch.js'
import { runCli } from '../../support/cli.js'
import { closedPort } from '../../support/blackhole.js'

let redis: ScratchRedis
beforeAll(async () => {
  redis = await scratchRedis('audit')
})
afterAll(async () => {
  await redis?.drop()
})

describe('audit log', () => {
  it('appends one redacted JSON line to the file and the capped Redis stream, and lists it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dops-audit-')), 'audit.log')
    const rt = new Runtime(loadConfig({ env: { ...redis.env, DIFY_OPS_AUDIT_LOG: file }, noDotenv: true }))
    const entry = buildAuditEntry({
      command: 'reset-password',
      args: { email: 'ops@example.com', newPassword: 'Secret123', url: 'redis://:pw@host:6379/1' },
      target: {
        database: 'postgresql://db:5432/dify',
        broker: 'redis://:brokerpw@redis:6379/1',
        vectorStores: ['chroma@http://u:chromapw@chroma:8000 (tenant t, database d)'],
      },
      outcome: 'ok',
      exitCode: 0,
      counts: { accounts: 1 },
      version: '0.0.0',
    })
    expect(await writeAudit(rt, entry)).toEqual({ file: true, redis: true })
    const line = JSON.parse(readFileSync(file, 'utf8').trim())
    expect(line.args).toEqual({ email: 'ops@example.com', newPassword: '***', url: 'redis://***@host:6379/1' })
    expect(line.target).toEqual({
      database: 'postgresql://db:5432/dify',
      broker: 'redis://***@redis:6379/1',
      vectorStores: ['chroma@http://***@chroma:8000 (tenant t, database d)'],
    })
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/)
    expect(line.user).toBeTruthy()
    expect(line.host).toBeTruthy()
    expect(await redis.client.xlen(`${redis.prefix}dify_ops:audit`)).toBe(1)
    const listed = await readAudit(rt, {})
    expect(listed.map((e) => e.command)).toEqual(['reset-password'])
    await rt.close()

    const cli = await runCli(['audit', '--json', '--since', '1h'], { env: redis.env })
    expect(cli.code).toBe(0)
    expect(cli.json.entries).toHaveLength(1)
    expect(JSON.stringify(cli.json)).not.toContain('Secret123')
  })

  it('the newest N entries, read backwards in batches, are the same as the tail of the whole stream', async () => {
    const own = await scratchRedis('audit-tail')
    const rt = new Runtime(loadConfig({ env: own.env, noDotenv: true }))
    try {
      const key = `${own.prefix}dify_ops:audit`
      const p = own.client.pipeline()
      // 2 600 entries, one per millisecond from t0; every 7th malformed, every 11th without an `entry` field
      const t0 = 1_780_000_000_000
      for (let i = 0; i < 2600; i++) {
        const body = JSON.stringify({ command: `c${i}`, outcome: 'ok' })
        if (i % 7 === 3) p.xadd(key, `${t0 + i}-0`, 'entry', '{not json')
        else if (i % 11 === 5) p.xadd(key, `${t0 + i}-0`, 'other', body)
        else p.xadd(key, `${t0 + i}-0`, 'entry', body)
      }
      await p.exec()
      const all = await readAudit(rt, {})
      expect(all.length).toBeGreaterThan(2000)
      for (const limit of [1, 99, 100, 101, 250, 1000, 1500, all.length, all.length + 10]) {
        expect((await readAudit(rt, { limit })).map((e) => e.command)).toEqual(all.slice(-limit).map((e) => e.command))
      }
      const since = new Date(t0 + 2000)
      const sinceAll = await readAudit(rt, { since })
      expect(sinceAll[0]!.command).toBe('c2000')
      for (const limit of [10, 500, 600, 5000]) {
        expect((await readAudit(rt, { since, limit })).map((e) => e.command)).toEqual(
          sinceAll.slice(-limit).map((e) => e.command),
        )
      }
    } finally {
      await rt.close()
      await own.drop()
    }
  })

  it('still writes the file when Redis is unreachable', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dops-audit-')), 'audit.log')
    const rt = new Runtime(
      loadConfig({
        env: { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(await closedPort()), DIFY_OPS_AUDIT_LOG: file },
        noDotenv: true,
      }),
    )
    const res = await writeAudit(
      rt,
      buildAuditEntry({ command: 'x', args: {}, target: {}, outcome: 'failed', exitCode: 1, version: '0' }),
    )
    expect(res).toEqual({ file: true, redis: false })
    await rt.close()
  })

  it('a bare number for --since is seconds, not a year', async () => {
    const { parseSince } = await import('../../../commands/audit/index.js')
    const d = parseSince('7')
    expect(Date.now() - d.getTime()).toBeGreaterThanOrEqual(7000)
    expect(Date.now() - d.getTime()).toBeLessThan(60_000)
  })

  it('rejects a bad --since with exit 2', async () => {
    const r = await runCli(['audit', '--since', 'yesterday-ish'], { env: redis.env })
    expect(r.code).toBe(2)
  })
})
