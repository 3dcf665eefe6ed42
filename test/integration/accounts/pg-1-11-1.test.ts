/** Dify ≤ 1.11.2 (schema d57accd375ae): exact, case-sensitive email lookup; reset-email keeps the typed case. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../support/cli.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { loadOracleSchema } from '../../support/dify-schema.js'
import { runCliInPty, seedAccount, seedDb, type SeedDb } from '../../support/dify-accounts.js'
import { pyAccepts } from './suite.js'

describe('account commands on a Dify 1.11.1 database (d57accd375ae)', () => {
  let scratch: Scratch
  let redis: ScratchRedis
  let db: SeedDb
  let env: Record<string, string>
  beforeAll(async () => {
    scratch = await scratchPg('acct111')
    loadOracleSchema(scratch.name, 'd57accd375ae')
    redis = await scratchRedis('acct111')
    db = await seedDb('postgres', scratch.name)
    env = { ...scratch.env, ...redis.env }
  })
  afterAll(async () => {
    await db?.close()
    await redis?.drop()
    await scratch?.drop()
  })

  it('does not fall back to the lower-cased email (exit 3, candidates listed); the exact address works', async () => {
    const a = await seedAccount(db, { email: 'lowered@example.com' })
    const r = await runCli(['reset-password', '--email', 'Lowered@Example.com', '--password-stdin', '--json'], {
      env,
      input: 'Abcdefg12',
    })
    expect(r.code).toBe(3)
    expect(r.json.error.details.candidates).toEqual([
      expect.objectContaining({ id: a.id, email: 'lowered@example.com' }),
    ])
    expect(r.json.error.hint).toMatch(/exactly/)
    await redis.client.set(`${redis.prefix}login_error_rate_limit:lowered@example.com`, '6')
    const ok = await runCli(['reset-password', '--email', 'lowered@example.com', '--password-stdin', '--json'], {
      env,
      input: 'Abcdefg12',
    })
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.json.database).toEqual({
      revision: 'd57accd375ae',
      difyVersion: '1.11.0',
      supported: true,
      status: 'supported',
    })
    expect(ok.json.lockout.cleared).toEqual([{ email: 'lowered@example.com', count: 6 }])
    expect(pyAccepts('Abcdefg12', (await db.query('select * from accounts where id = ?', [a.id]))[0]!)).toBe(true)
  })

  it('reset-email stores the new address as typed (stripped), as flask reset-email did before 1.11.3', async () => {
    const a = await seedAccount(db, { email: 'typed@example.com' })
    const r = await runCli(['reset-email', '--email', a.email, '--new-email', ' New.Typed@Example.com', '--json'], {
      env,
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.newEmail).toBe('New.Typed@Example.com')
    expect((await db.query('select email from accounts where id = ?', [a.id]))[0]!.email).toBe('New.Typed@Example.com')
  })

  it('on a terminal asks twice with a hidden prompt, never echoing the password; a mismatch is exit 2', async () => {
    const a = await seedAccount(db, { email: 'tty@example.com' })
    const pw = 'Typed-Secret-77'
    const ok = runCliInPty(['reset-password', '--email', a.email], env, [
      ['New password', pw],
      ['Repeat', pw],
    ])
    expect(ok.code, ok.out).toBe(0)
    expect(ok.out).toMatch(/Password\s+changed/)
    expect(ok.out).not.toContain(pw)
    expect(pyAccepts(pw, (await db.query('select * from accounts where id = ?', [a.id]))[0]!)).toBe(true)
    const bad = runCliInPty(['reset-password', '--email', a.email], env, [
      ['New password', 'Other-Secret-88'],
      ['Repeat', 'Other-Secret-89'],
    ])
    expect(bad.code).toBe(2)
    expect(bad.out).toMatch(/differ/)
    expect(bad.out).not.toMatch(/Other-Secret-8/)
    expect(pyAccepts(pw, (await db.query('select * from accounts where id = ?', [a.id]))[0]!)).toBe(true)
  }, 120_000)
})
