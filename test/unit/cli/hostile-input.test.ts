/**
 * Bad input that needs no service, run in-process from the sources (no build): each is exit 2 or 4 with a reason,
 * never an unexpected error (exit 1), and control characters are never sent raw to the terminal.
 */
import { describe, expect, it } from 'vitest'
import { runInProcess } from '../../support/in-process.js'
import AccountList from '../../../commands/account/list.js'
import VdbShow from '../../../commands/vdb/show.js'
import VdbCheck from '../../../commands/vdb/check.js'
import Audit from '../../../commands/audit/index.js'
import QueueList from '../../../commands/queue/list.js'
import QueueWorkers from '../../../commands/queue/workers.js'
import QueueRestoreUnacked from '../../../commands/queue/restore-unacked.js'
import RestoreKey from '../../../commands/encryption/restore-key.js'
import DbUpgrade from '../../../commands/db/upgrade.js'
import AccountShow from '../../../commands/account/show.js'

const NO_SERVICE = {
  DB_HOST: '127.0.0.1',
  DB_PORT: '1',
  REDIS_HOST: '127.0.0.1',
  REDIS_PORT: '1',
  CELERY_BROKER_URL: 'redis://127.0.0.1:1/1',
}

type Row = [
  label: string,
  cmd: Parameters<typeof runInProcess>[0],
  argv: string[],
  env: Record<string, string>,
  code: number,
  message: RegExp,
]

const ROWS: Row[] = [
  [
    'account list --page 99999999999999999999',
    AccountList,
    ['--page', '99999999999999999999'],
    {},
    2,
    /Invalid --page: 99999999999999999999 is outside the allowed range 1 to 1000000000/,
  ],
  [
    'account list --limit 0 names the reason',
    AccountList,
    ['--limit', '0'],
    {},
    2,
    /Invalid --limit: 0 is outside the allowed range 1 to 10000/,
  ],
  ['account list --limit abc', AccountList, ['--limit', 'abc'], {}, 2, /Invalid --limit: "abc" is not a whole number/],
  ['vdb show not-a-uuid', VdbShow, ['not-a-uuid'], {}, 2, /"not-a-uuid" is not an id/],
  ['vdb check --dataset x', VdbCheck, ['--dataset', 'x'], {}, 2, /"x" is not an id/],
  [
    'audit --since 999999999d',
    Audit,
    ['--since', '999999999d'],
    {},
    2,
    /--since 999999999d is more than 100 years ago/,
  ],
  ['audit --since yesterday', Audit, ['--since', 'yesterday'], {}, 2, /neither a date nor a duration/],
  [
    'queue list --timeout abc',
    QueueList,
    ['--timeout', 'abc'],
    {},
    2,
    /Invalid --timeout: "abc" is not a number of seconds/,
  ],
  ['queue list --timeout 1e9', QueueList, ['--timeout', '1e9'], {}, 2, /Invalid --timeout/],
  ['queue list --watch 0', QueueList, ['--watch', '0'], {}, 2, /Invalid --watch: 0 is less than the minimum of 0.1 s/],
  ['queue workers --timeout -1', QueueWorkers, ['--timeout=-1'], {}, 2, /Invalid --timeout/],
  [
    'queue restore-unacked --older-than 5 parsecs',
    QueueRestoreUnacked,
    ['--older-than', '5 parsecs'],
    {},
    2,
    /Invalid --older-than: "5 parsecs" is not a duration/,
  ],
  [
    'encryption restore-key without --file or --backup',
    RestoreKey,
    ['--tenant', '6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f'],
    {},
    2,
    /Exactly one of the following must be provided: --backup, --file/,
  ],
  [
    'encryption restore-key with --file and --backup',
    RestoreKey,
    ['--tenant', '6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f', '--file', 'x', '--backup', 'y'],
    {},
    2,
    /--backup|--file/,
  ],
  ['db upgrade --sql --dry-run', DbUpgrade, ['--sql', '--dry-run'], {}, 2, /--dry-run|--sql/],
  [
    'a sentinel:// broker without CELERY_SENTINEL_MASTER_NAME',
    QueueList,
    ['--no-workers'],
    { CELERY_BROKER_URL: 'sentinel://127.0.0.1:26379/1' },
    4,
    /CELERY_SENTINEL_MASTER_NAME is not valid: it is not set/,
  ],
  [
    'CELERY_USE_SENTINEL without CELERY_SENTINEL_MASTER_NAME',
    QueueList,
    ['--no-workers'],
    { CELERY_BROKER_URL: 'redis://127.0.0.1:26379/1', CELERY_USE_SENTINEL: 'true' },
    4,
    /CELERY_SENTINEL_MASTER_NAME/,
  ],
  [
    'VECTOR_STORE=foo: vdb check is exit 4, not 8',
    VdbCheck,
    [],
    { VECTOR_STORE: 'foo' },
    4,
    /VECTOR_STORE "foo" is not supported by dify-ops/,
  ],
  [
    'VECTOR_STORE=foo: vdb show is exit 4',
    VdbShow,
    ['6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f'],
    { VECTOR_STORE: 'foo' },
    4,
    /VECTOR_STORE "foo"/,
  ],
]

describe('bad input is exit 2 or 4 with a reason (in-process, no build)', () => {
  it.each(ROWS)('%s', async (_label, cmd, argv, env, code, message) => {
    const human = await runInProcess(cmd, argv, { env: { ...NO_SERVICE, ...env } })
    expect(human.code, human.stderr).toBe(code)
    expect(human.stderr).toMatch(message)
    expect(human.stderr).not.toMatch(/Unexpected error/)
    const json = await runInProcess(cmd, [...argv, '--json'], { env: { ...NO_SERVICE, ...env } })
    expect(json.code).toBe(code)
    expect(json.json?.error).toMatchObject({ code: code === 2 ? 'USAGE' : 'CONFIG', exitCode: code })
    expect(json.json.error.message).toMatch(message)
  })
})

describe('control characters in arguments are escaped in human output', () => {
  const EVIL = 'x\u001b[2J\u001b]0;pwned\u0007\u009b31m\r'
  it.each([
    ['vdb show', VdbShow, [EVIL]],
    ['vdb check --dataset', VdbCheck, ['--dataset', EVIL]],
    ['audit --since', Audit, ['--since', EVIL]],
  ] as Array<[string, Parameters<typeof runInProcess>[0], string[]]>)('%s', async (_label, cmd, argv) => {
    const r = await runInProcess(cmd, argv, { env: NO_SERVICE })
    expect(r.code).toBe(2)

    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
    expect(r.stderr).toContain('\\x1b[2J')
    // --json keeps the exact text (JSON escapes it)
    const j = await runInProcess(cmd, [...argv, '--json'], { env: NO_SERVICE })
    expect(j.json.error.message).toContain(EVIL)
  })

  it('account show of an unknown address with control characters (database unreachable: exit 5, escaped)', async () => {
    const r = await runInProcess(AccountShow, [EVIL + '@example.com'], { env: NO_SERVICE })
    expect(r.code).toBe(5)

    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
  })
})
