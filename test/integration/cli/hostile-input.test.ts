/**
 * Hostile or broken input that needs a real service or the built CLI (issue 17, items 11–15), table-driven where
 * the cases share a shape. The in-process ones (no service) are in test/unit/cli/hostile-input.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dirname, join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { BIN, runCli } from '../../support/cli.js'
import { nodeBinary } from '../../support/node-versions.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { loadOracleSchema } from '../../support/dify-schema.js'
import { runCliInPty, seedAccount, seedDb, type SeedDb } from '../../support/dify-accounts.js'
import { Redis } from 'ioredis'
import { REDIS } from '../../support/services.js'
import { closedPort } from '../../support/blackhole.js'

describe.each(['18.19.1', '22'] as const)('--env-file with a missing path under Node %s', (version) => {
  it('is exit 4 with the JSON error (the bin runs "node --", so Node does not read --env-file itself)', () => {
    // run the bin as an operator does: through its shebang, with this Node first on PATH
    for (const spelling of [['--env-file', '/nonexistent/x.env'], ['--env-file=/nonexistent/x.env']]) {
      const r = spawnSync(BIN, ['config', 'show', ...spelling, '--json'], {
        env: { PATH: `${dirname(nodeBinary(version))}:${process.env.PATH}`, HOME: process.env.HOME ?? '/tmp' },
        encoding: 'utf8',
      })
      expect(r.status, r.stderr).toBe(4)
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'CONFIG', exitCode: 4 })
      expect(r.stderr).not.toMatch(/not found/)
    }
  })
})

describe('with services', () => {
  let s: Scratch
  let redis: ScratchRedis
  let db: SeedDb
  let env: Record<string, string>
  let closed: number
  beforeAll(async () => {
    s = await scratchPg('hostile')
    loadOracleSchema(s.name, '788d3099ae3a')
    redis = await scratchRedis('hostile')
    db = await seedDb('postgres', s.name)
    closed = await closedPort()
    env = {
      ...s.env,
      ...redis.env,
      OPENDAL_SCHEME: 'fs',
      OPENDAL_FS_ROOT: mkdtempSync(join(tmpdir(), 'dops-hostile-')),
    }
  })
  afterAll(async () => {
    await db?.close()
    await redis?.drop()
    await s?.drop()
  })

  it.each([
    [
      'a DB_EXTRAS option the server rejects is exit 4 naming DB_EXTRAS, not "timed out"',
      ['db', 'status'],
      { DB_EXTRAS: 'options=-c statement_timeout=abc' },
      4,
      /rejected a connection setting: invalid value for parameter "statement_timeout"/,
    ],
    [
      'a DB_EXTRAS option the server does not know',
      ['account', 'list'],
      { DB_EXTRAS: 'options=-c no_such_setting=1' },
      4,
      /rejected a connection setting/,
    ],
  ] as Array<[string, string[], Record<string, string>, number, RegExp]>)(
    '%s',
    async (_label, args, over, code, message) => {
      const r = await runCli([...args, '--json'], { env: { ...env, ...over } })
      expect(r.code, r.stdout + r.stderr).toBe(code)
      expect(r.json.error.message).toMatch(message)
      expect(r.json.error.message).not.toMatch(/timed out/)
      expect(r.json.error.hint).toMatch(/DB_EXTRAS/)
    },
  )

  it.each([
    [
      'VECTOR_STORE=foo: the configuration is invalid (exit 4)',
      { VECTOR_STORE: 'foo' },
      4,
      'configuration',
      /VECTOR_STORE "foo" is not supported/,
    ],
    [
      'VECTOR_STORE=milvus with nothing listening: probed through the adapter (exit 5)',
      { VECTOR_STORE: 'milvus', MILVUS_URI: 'http://127.0.0.1:PORT', MILVUS_TOKEN: 'x' },
      5,
      'vector store',
      /Cannot connect to Milvus/,
    ],
    [
      'VECTOR_STORE=qdrant with nothing listening (exit 5)',
      { VECTOR_STORE: 'qdrant', QDRANT_URL: 'http://127.0.0.1:PORT' },
      5,
      'vector store',
      /./,
    ],
  ] as Array<[string, Record<string, string>, number, string, RegExp]>)(
    'doctor: %s',
    async (_label, over, code, check, message) => {
      const vars = Object.fromEntries(Object.entries(over).map(([k, v]) => [k, v.replace('PORT', String(closed))]))
      const r = await runCli(['doctor', '--json'], { env: { ...env, ...vars } })
      expect(r.code, r.stdout).toBe(code)
      const c = r.json.checks.find((x: { name: string }) => x.name === check)
      expect(c.status).toBe('fail')
      expect(c.summary).toMatch(message)
      const human = await runCli(['doctor'], { env: { ...env, ...vars } })
      expect(human.stdout).not.toMatch(/All checks passed|no reachability probe/)
    },
  )

  it("doctor: no live worker for the release's queues is a warning, not a pass", async () => {
    const r = await runCli(['doctor', '--json'], {
      env: {
        ...env,
        VECTOR_STORE: 'pgvector',
        PGVECTOR_HOST: '127.0.0.1',
        PGVECTOR_PORT: '5432',
        PGVECTOR_USER: 'postgres',
        PGVECTOR_DATABASE: s.name,
      },
    })
    const c = r.json.checks.find((x: { name: string }) => x.name === 'celery broker')
    expect(c.status).toBe('warn')
    expect(c.summary).toMatch(/no live worker/)
    expect(c.hint).toMatch(/Queuing/)
  })

  it('--password-stdin refuses invalid UTF-8 (exit 2) and changes nothing; a good one is audited with its source', async () => {
    const a = await seedAccount(db, { email: 'utf8@example.com' })
    const before = (await db.query('select password from accounts where id = ?', [a.id]))[0]!.password
    const bad = await runCli(['reset-password', '--email', a.email, '--password-stdin', '--json'], {
      env,
      input: Buffer.from([0x41, 0x62, 0x63, 0x31, 0x32, 0x33, 0x34, 0x35, 0xff, 0xfe]),
    })
    expect(bad.code, bad.stdout).toBe(2)
    expect(bad.json.error.message).toMatch(/stdin is not valid UTF-8/)
    expect((await db.query('select password from accounts where id = ?', [a.id]))[0]!.password).toBe(before)
    const ok = await runCli(['reset-password', '--email', a.email, '--password-stdin', '--json'], {
      env,
      input: 'Good-pass-123\n',
    })
    expect(ok.code, ok.stderr).toBe(0)
    const audit = await runCli(['audit', '--json'], { env })
    const line = audit.json.entries.find((e: { command: string }) => e.command === 'reset-password')
    expect(line.args.passwordFrom).toBe('stdin')
    expect(JSON.stringify(audit.json)).not.toContain('Good-pass-123')
  })

  it('account show: "Last login never" has its space', async () => {
    const a = await seedAccount(db, { email: 'never@example.com' })
    const r = await runCli(['account', 'show', a.email], { env })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^Last login never$/m)
  })

  it.each([
    ['queue purge', ['queue', 'purge', 'dataset'], 'Remove'],
    ['db lock clear', ['db', 'lock', 'clear'], 'Delete'],
  ])(
    'answering "no" at the confirmation of %s is exit 1, nothing changed, nothing audited',
    async (_label, args, prompt) => {
      const broker = new Redis({ ...REDIS, db: 1 })
      await broker.lpush(`${redis.prefix}dataset`, '{"body":"","headers":{"task":"t"},"properties":{}}')
      await redis.client.set(`${redis.prefix}db_upgrade_lock`, 'held', 'PX', 60_000)
      const auditBefore = await redis.client.xlen(`${redis.prefix}dify_ops:audit`)
      const r = runCliInPty(args, env, [[prompt, 'n']])
      expect(r.code, r.out).toBe(1)
      expect(r.out).toMatch(/Not confirmed: nothing was removed|Not confirmed: the lock was left in place/)
      expect(await broker.llen(`${redis.prefix}dataset`)).toBe(1)
      expect(await redis.client.exists(`${redis.prefix}db_upgrade_lock`)).toBe(1)
      expect(await redis.client.xlen(`${redis.prefix}dify_ops:audit`)).toBe(auditBefore)
      await broker.del(`${redis.prefix}dataset`)
      broker.disconnect()
    },
  )

  it('control characters in an argument are escaped in the error message', async () => {
    const r = await runCli(['account', 'show', 'x\u001b[2J\u0007@example.com'], { env })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('\\x1b[2J\\x07')

    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
  })
})
