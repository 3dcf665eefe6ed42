/**
 * The reader of our output goes away (`dify … | head`, `2>&1 | head`): every later write to stdout or stderr fails
 * with EPIPE. The command must still end as it would have: its own exit code, no stack trace, and a writer's work and
 * audit line done. Here the pipes are closed before the CLI writes anything, so every write of the run fails.
 */
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN } from '../../support/cli.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { loadRelease } from '../../support/oracles.js'
import { seedAccount, seedDb, type SeedDb } from '../../support/dify-accounts.js'

let scratch: Scratch
let redis: ScratchRedis
let db: SeedDb
let env: Record<string, string>

beforeAll(async () => {
  scratch = await scratchPg('epipe')
  await loadRelease(scratch, 'postgres', '1.15.0')
  db = await seedDb('postgres', scratch.name)
  redis = await scratchRedis('epipe')
  env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...scratch.env, ...redis.env }
}, 120_000)
afterAll(async () => {
  await db?.close()
  await redis?.drop()
  await scratch?.drop()
})

/** Run the built CLI with its stdout and stderr pipes closed on our side at once; its exit code. */
function runWithClosedPipes(args: string[], input = ''): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    child.stdout.destroy()
    child.stderr.destroy()
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
    child.stdin.end(input)
  })
}

describe('a closed output pipe', () => {
  it('a reader ends with its own exit code, warnings and all (retention report warns on stderr at the end)', async () => {
    expect(await runWithClosedPipes(['retention', 'report'])).toBe(0)
    expect(await runWithClosedPipes(['retention', 'report', '--json'])).toBe(0)
    expect(await runWithClosedPipes(['db', 'history'])).toBe(0)
  })

  it('a writer still does its work and writes its audit line', async () => {
    const a = await seedAccount(db, { email: 'pipe@example.com' })
    const before = (await db.query('select password from accounts where id = ?', [a.id]))[0]!.password
    expect(
      await runWithClosedPipes(['reset-password', '--email', 'pipe@example.com', '--password-stdin'], 'Pipe-gone-42x'),
    ).toBe(0)
    expect((await db.query('select password from accounts where id = ?', [a.id]))[0]!.password).not.toBe(before)
    const audit = await redis.client.xrevrange(`${redis.prefix}dify_ops:audit`, '+', '-', 'COUNT', 1)
    expect(audit[0]?.[1].join(' ')).toMatch(/reset-password/)
  })

  it('an unknown account still exits 3', async () => {
    expect(await runWithClosedPipes(['account', 'show', 'nobody@example.com'])).toBe(3)
  })
})
