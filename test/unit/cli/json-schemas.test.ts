/**
 * The `--json` shapes are snapshots: test/fixtures/json-schema/ holds one JSON Schema per command (from the return
 * type of its run(), by scripts/gen-json-schemas.ts) and one for the error shape. A changed result type fails here
 * until the snapshots are regenerated and the diff reviewed, so a changed shape is a visible decision.
 * Real outputs of commands that need no service are validated against their schema (in-process, no build);
 * test/integration/cli/json-shapes.test.ts does the same for commands that need Redis or PostgreSQL.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { SCHEMA_DIR, generateSchemas, renderSchema } from '../../../scripts/gen-json-schemas.js'
import { runInProcess } from '../../support/in-process.js'
import { validateJson } from '../../support/json-schema.js'
import ConfigShow from '../../../commands/config/show.js'
import DbHistory from '../../../commands/db/history.js'
import DbUpgrade from '../../../commands/db/upgrade.js'
import DbStatus from '../../../commands/db/status.js'
import AccountShow from '../../../commands/account/show.js'
import VdbCheck from '../../../commands/vdb/check.js'

const NO_SERVICE = {
  DB_HOST: '127.0.0.1',
  DB_PORT: '1',
  REDIS_HOST: '127.0.0.1',
  REDIS_PORT: '1',
  CELERY_BROKER_URL: 'redis://127.0.0.1:1/1',
}
const REGENERATE =
  'The --json shape changed: run `npm run gen:json-schemas` and review the diff of test/fixtures/json-schema/ (a changed shape is a visible decision: say so in the changelog/docs).'

describe('--json schema snapshots', () => {
  let generated: Record<string, Record<string, unknown>>
  beforeAll(() => {
    generated = generateSchemas() // one TypeScript program over commands/ (several seconds)
  }, 120_000)

  it('every command has a snapshot and no snapshot is left over', () => {
    const committed = readdirSync(SCHEMA_DIR)
      .filter((n) => n.endsWith('.json'))
      .sort()
    expect(committed, REGENERATE).toEqual(Object.keys(generated).sort())
  })

  it('each snapshot equals the schema of the current sources', () => {
    const changed = Object.entries(generated)
      .filter(([name, s]) => {
        try {
          return readFileSync(join(SCHEMA_DIR, name), 'utf8') !== renderSchema(s)
        } catch {
          return true
        }
      })
      .map(([name]) => name)
    expect(changed, `${REGENERATE} Changed: ${changed.join(', ')}`).toEqual([])
  })

  it('every snapshot is a valid draft 2020-12 schema (ajv strict mode compiles it)', () => {
    for (const name of Object.keys(generated)) expect(() => validateJson(name, null), name).not.toThrow()
  })

  it('the error shape is shared by every command', () => {
    expect(generated['_error.json']).toMatchObject({ required: ['error'] })
  })
})

describe('real --json output matches its schema (in-process, no service)', () => {
  it('config show', async () => {
    const r = await runInProcess(ConfigShow, ['--json'], { env: { DB_PASSWORD: 'secret', REDIS_PASSWORD: 'x' } })
    expect(r.code).toBe(0)
    expect(validateJson('config-show.json', r.json)).toEqual([])
  })

  it('db history with the database unreachable', async () => {
    const r = await runInProcess(DbHistory, ['--json'], { env: NO_SERVICE })
    expect(r.code).toBe(0)
    expect(r.json.databaseReachable).toBe(false)
    expect(validateJson('db-history.json', r.json)).toEqual([])
  })

  it('db upgrade --sql --from base (connects to nothing)', async () => {
    const r = await runInProcess(DbUpgrade, ['--sql', '--from', 'base', '--json'], { env: NO_SERVICE })
    expect(r.code, r.stderr).toBe(0)
    expect(validateJson('db-upgrade.json', r.json)).toEqual([])
  })

  type Row = [
    label: string,
    cmd: Parameters<typeof runInProcess>[0],
    argv: string[],
    code: number,
    env?: Record<string, string>,
  ]
  it.each<Row>([
    ['usage: a missing argument', AccountShow, [], 2],
    ['usage: an unknown flag', DbHistory, ['--nope'], 2],
    ['config: an unsupported vector store', VdbCheck, ['--scope', 'knowledge'], 4, { VECTOR_STORE: 'foo' }],
    ['connect: the database is unreachable', DbStatus, [], 5],
  ])('error, %s', async (_label, cmd, argv, code, env = {}) => {
    const r = await runInProcess(cmd, [...argv, '--json'], { env: { ...NO_SERVICE, ...env } })
    expect(r.code, r.stdout + r.stderr).toBe(code)
    expect(r.json.error.exitCode).toBe(code)
    expect(validateJson('_error.json', r.json)).toEqual([])
  })

  it('a schema rejects a changed shape (an extra or a missing property)', () => {
    expect(validateJson('_error.json', { error: { code: 'USAGE', message: 'm', exitCode: 2, extra: 1 } })).not.toEqual(
      [],
    )
    expect(validateJson('_error.json', { error: { code: 'USAGE', exitCode: 2 } })).not.toEqual([])
    expect(validateJson('_error.json', { error: { code: 'NOPE', message: 'm', exitCode: 2 } })).not.toEqual([])
  })
})
