import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { runCli } from '../../support/cli.js'
import { scratchMysql, scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { openScratchDb } from '../../support/dify-schema.js'
import { expectedAfterUpgrade, loadRelease, ORACLE_RELEASES, releaseSchema } from '../../support/oracles.js'
import { diffSchemas, introspectSchema } from '../../../src/migrations/schema/introspect.js'
import { compareVersions } from '../../../src/dify/releases.js'
import type { SqlDialect } from '../../../src/migrations/types.js'

/**
 * The issue's test of upgrade-db (the built CLI): a database created by each Dify release X from 1.11.0 to 1.15.0,
 * upgraded by `dify upgrade-db`, has exactly the schema Dify's own upgrade gives it (X's SQL followed by 1.15.0's
 * chain after X's head); a fresh database upgraded to the head equals a fresh 1.15.0. MySQL: Dify's own files of
 * 1.11.3 – 1.12.1 do not load on MySQL/MariaDB (the oracles README of the shared reference material), so those releases are left out there.
 * Two releases run at a time (loading a release into MariaDB waits on disk more than on CPU).
 */
const HEAD = 'd9e8f7a6b5c4'
const MYSQL_BROKEN = ['1.11.3', '1.11.4', '1.12.0', '1.12.1']
const inWindow = (dialect: SqlDialect) =>
  ORACLE_RELEASES.filter(
    (r) =>
      compareVersions(r.release, '1.11.0') >= 0 &&
      compareVersions(r.release, '1.15.0') <= 0 &&
      r.dialects.includes(dialect),
  )
    .map((r) => r.release)
    .filter((r) => dialect === 'postgres' || !MYSQL_BROKEN.includes(r))

let redis: ScratchRedis
const scratches: Scratch[] = []
beforeAll(async () => {
  redis = await scratchRedis('releases')
})
afterAll(async () => {
  for (const s of scratches) await s.drop().catch(() => {})
  await redis?.drop()
})

/** at most two releases in flight: more makes MariaDB/PostgreSQL on the shared 2-core machine drop connections */
let slots = 2
const waiting: (() => void)[] = []
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (slots === 0) await new Promise<void>((r) => waiting.push(r))
  else slots--
  try {
    return await fn()
  } finally {
    const next = waiting.shift()
    if (next) next()
    else slots++
  }
}

async function scratch(dialect: SqlDialect, tag: string): Promise<Scratch> {
  const s = dialect === 'postgres' ? await scratchPg(tag) : await scratchMysql(tag)
  scratches.push(s)
  return s
}

async function schemaAndVersion(s: Scratch) {
  const db = await openScratchDb(s.env)
  try {
    const versions = (
      (await sql.raw('SELECT version_num FROM alembic_version').execute(db.kysely)).rows as { version_num: string }[]
    ).map((r) => r.version_num)
    return { schema: await introspectSchema(db), versions }
  } finally {
    await db.close()
  }
}

describe.each(['postgres', 'mysql'] as const)('dify upgrade-db from every release on %s', (dialect) => {
  it.concurrent.each(inWindow(dialect))(
    "Dify %s → head equals Dify's own upgrade",
    (release) =>
      limited(async () => {
        const s = await scratch(dialect, `rel${release}`)
        await loadRelease(s, dialect, release)
        const r = await runCli(['upgrade-db', '--json'], { env: { ...s.env, ...redis.env }, timeoutMs: 600_000 })
        expect(r.code, r.stderr).toBe(0)
        expect(r.json.status).toBe(release === '1.15.0' ? 'up-to-date' : 'upgraded')
        const got = await schemaAndVersion(s)
        expect(got.versions).toEqual([HEAD])
        expect(diffSchemas(await expectedAfterUpgrade(dialect, release), got.schema, ['dify', 'dify-ops'])).toEqual([])
      }),
    1_800_000,
  )

  it.concurrent(
    'a fresh database → head equals a fresh Dify 1.15.0',
    () =>
      limited(async () => {
        const s = await scratch(dialect, 'relfresh')
        const r = await runCli(['upgrade-db', '--json'], { env: { ...s.env, ...redis.env }, timeoutMs: 600_000 })
        expect(r.code, r.stderr).toBe(0)
        const got = await schemaAndVersion(s)
        expect(got.versions).toEqual([HEAD])
        expect(diffSchemas(await releaseSchema(dialect, '1.15.0'), got.schema, ['dify 1.15.0', 'dify-ops'])).toEqual([])
      }),
    1_800_000,
  )
})
