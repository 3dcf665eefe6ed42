/** The account commands on the embedded PGlite database (DB_TYPE=pglite) with Dify's 1.12 tables. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../support/cli.js'
import { scratchRedis, type ScratchRedis } from '../../support/scratch.js'
import { execFileSync } from 'node:child_process'
import { loadOracleSchema } from '../../support/dify-schema.js'
import { scratchPg } from '../../support/scratch.js'
import { PG } from '../../support/services.js'
import { seedAccount, seedSession, type SeedDb } from '../../support/dify-accounts.js'
import { pyAccepts } from './suite.js'

async function openSeed(dir: string): Promise<SeedDb> {
  const { PGlite } = await import('@electric-sql/pglite')
  const { uuid_ossp } = await import('@electric-sql/pglite/contrib/uuid_ossp')
  const pg = await PGlite.create(dir, { extensions: { uuid_ossp } })
  return {
    async query(text, params = []) {
      let i = 0
      return (
        await pg.query<Record<string, unknown>>(
          text.replace(/\?/g, () => `$${++i}`),
          params,
        )
      ).rows
    },
    exec: (sql: string) => pg.exec(sql),
    close: () => pg.close(),
  } as SeedDb & { exec: (s: string) => Promise<unknown> }
}

/**
 * Dify's accounts, tenants, tenant_account_joins and alembic_version tables exactly as the oracle builds them at
 * 788d3099ae3a, taken with pg_dump from a scratch PostgreSQL database (the whole oracle does not load in PGlite:
 * its uuidv7() clashes with PGlite's built-in one).
 */
async function accountTablesDdl(): Promise<string> {
  const s = await scratchPg('acctlite')
  try {
    loadOracleSchema(s.name, '788d3099ae3a')
    const ddl = execFileSync('pg_dump', [
      '-h',
      PG.host,
      '-p',
      String(PG.port),
      '-U',
      PG.user,
      '-d',
      s.name,
      '--schema-only',
      '--no-owner',
      '--no-privileges',
      '-t',
      'accounts',
      '-t',
      'tenants',
      '-t',
      'tenant_account_joins',
      '-t',
      'alembic_version',
    ]).toString()
    return (
      ddl
        .split('\n')
        .filter((l) => !l.startsWith('\\'))
        .join('\n') + "\nset search_path = public;\ninsert into alembic_version values ('788d3099ae3a');\n"
    )
  } finally {
    await s.drop()
  }
}

describe('account commands on PGlite', () => {
  let dir: string
  let redis: ScratchRedis
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dops-acct-pglite-'))
    redis = await scratchRedis('acctpglite')
  })
  afterAll(async () => {
    await redis?.drop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('resets a password, shows and lists the account', async () => {
    const seed = (await openSeed(dir)) as SeedDb & { exec: (s: string) => Promise<unknown> }
    await seed.exec('create extension if not exists "uuid-ossp";\n' + (await accountTablesDdl()))
    const a = await seedAccount(seed, { email: 'lite@example.com' })
    await seed.close()
    await seedSession(redis.client, redis.prefix, a.id)
    const env = { DB_TYPE: 'pglite', PGLITE_DATA_DIR: dir, ...redis.env }
    const r = await runCli(['reset-password', '--email', a.email, '--password-stdin', '--json'], {
      env,
      input: 'Lite-pass-123',
    })
    expect(r.code, r.stderr + r.stdout).toBe(0)
    expect(r.json.sessions).toMatchObject({ refreshTokens: 1, accountKey: true })
    const s = await runCli(['account', 'show', a.email, '--json'], { env })
    expect(s.json.account).toMatchObject({ id: a.id, hasPassword: true })
    const l = await runCli(['account', 'list', '--search', 'LITE', '--json'], { env })
    expect(l.json.total).toBe(1)
    const check = await openSeed(dir)
    expect(pyAccepts('Lite-pass-123', (await check.query('select * from accounts where id = ?', [a.id]))[0]!)).toBe(
      true,
    )
    await check.close()
  }, 180_000)
})
