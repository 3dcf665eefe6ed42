/**
 * The CLI on databases of older releases: `upgrade-db --dry-run` from 1.1.x shows the data steps with their row
 * counts and writes nothing; `db status` and `db verify` on a half-applied 1.6.0; a MySQL database older than
 * 1.10.1 and a PostgreSQL one older than 1.0.0 are refused naming the release.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { runCli } from '../../support/cli.js'
import { openScratchDb } from '../../support/dify-schema.js'
import { loadRealDump, loadRelease } from '../../support/oracles.js'
import { scratchMysql, scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { introspectSchema } from '../../../src/migrations/schema/introspect.js'
import { REVISION_LIST } from '../../../src/migrations/registry.js'

const scratches: Scratch[] = []
let redis: ScratchRedis | undefined
afterAll(async () => {
  for (const s of scratches) await s.drop().catch(() => {})
  await redis?.drop()
})
const env = async (s: Scratch) => {
  redis ??= await scratchRedis('clirel')
  return { ...s.env, ...redis.env }
}
async function fingerprint(s: Scratch): Promise<string> {
  const db = await openScratchDb(s.env)
  try {
    const schema = await introspectSchema(db, { includeAlembicVersion: true } as never)
    const v = await sql.raw('select version_num from alembic_version').execute(db.kysely)
    const tables = await sql
      .raw('select table_name from information_schema.tables where table_schema = current_schema() order by 1')
      .execute(db.kysely)
    return JSON.stringify([schema, v.rows, tables.rows])
  } finally {
    await db.close()
  }
}

describe('dify upgrade-db / db status / db verify on older releases (CLI)', () => {
  it('--dry-run from the real 1.1.x dump lists every step, the data steps with their rows, and writes nothing', async () => {
    const s = await scratchPg('clidry')
    scratches.push(s)
    await loadRealDump(s, 'dify-1.1.x')
    const before = await fingerprint(s)
    const r = await runCli(['upgrade-db', '--dry-run', '--to', '788d3099ae3a', '--json'], { env: await env(s) })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.from).toBe('d20049ed0af6')
    expect(r.json.pending[0].revision).toBe('6a9f914f656c')
    expect(r.json.pending.map((p: { revision: string }) => p.revision)).toContain('d57accd375ae')
    const effects = r.json.dataEffects as { revision: string; rows: number | null; backupTable: string | null }[]
    expect(effects.map((e) => e.revision)).toEqual(
      expect.arrayContaining(['0ab65e1cc7fa', 'e8446f481c1e', '0e154742a5fa', 'ae662b25d9bc', '669ffd70119c']),
    )
    expect(effects.find((e) => e.revision === '0ab65e1cc7fa')).toMatchObject({
      backupTable: 'dify_ops_backup_0ab65e1cc7fa_workflow_runs',
    })
    expect(typeof effects.find((e) => e.revision === 'e8446f481c1e')!.rows).toBe('number')
    expect(r.json.schema).toMatchObject({ checked: true, differences: [] })
    const human = await runCli(['upgrade-db', '--dry-run', '--to', '788d3099ae3a'], { env: await env(s) })
    expect(human.stdout).toContain('data: 0ab65e1cc7fa')
    expect(await fingerprint(s)).toBe(before)
  })

  it('db status and db verify name a half-applied upgrade and its fix; exit 8 on drift, 0 once fixed', async () => {
    const s = await scratchPg('clihalf')
    scratches.push(s)
    await loadRelease(s, 'postgres', '1.6.0')
    const db = await openScratchDb(s.env)
    await sql
      .raw(REVISION_LIST.find((x) => x.revision === '71f5020c6470')!.statements('postgres')[0]!.sql)
      .execute(db.kysely)
    await db.close()
    const st = await runCli(['db', 'status'], { env: await env(s) })
    expect(st.code).toBe(0)
    expect(st.stdout).toContain(
      'table tool_oauth_system_clients exists but is not expected (pending revision 71f5020c6470 creates it)',
    )
    expect(st.stdout).toContain('DROP TABLE tool_oauth_system_clients;')
    const v = await runCli(['db', 'verify', '--json'], { env: await env(s) })
    expect(v.code).toBe(8)
    expect(v.json.differences).toHaveLength(1)
    expect(v.json.suggestion.steps[0]).toBe('DROP TABLE tool_oauth_system_clients;')
    const up = await runCli(['upgrade-db', '--json'], { env: await env(s) })
    expect(up.code).toBe(4)
    expect(up.json.error.hint).toContain('DROP TABLE tool_oauth_system_clients;')
    const db2 = await openScratchDb(s.env)
    await sql.raw('DROP TABLE tool_oauth_system_clients').execute(db2.kysely)
    await db2.close()
    expect((await runCli(['db', 'verify'], { env: await env(s) })).code).toBe(0)
    const done = await runCli(['upgrade-db', '--json'], { env: await env(s) })
    expect(done.code, done.stderr).toBe(0)
    const fin = await runCli(['db', 'verify'], { env: await env(s) })
    expect(fin.stdout, fin.stdout).toContain('Schema matches d9e8f7a6b5c4 exactly')
  })

  it('refuses (exit 4, naming the release) PostgreSQL older than 1.0.0 and MySQL older than 1.10.1', async () => {
    const pg = await scratchPg('cliold')
    scratches.push(pg)
    await loadRelease(pg, 'postgres', '1.0.0')
    const db = await openScratchDb(pg.env)
    await sql.raw("UPDATE alembic_version SET version_num = 'a91b476a53de'").execute(db.kysely)
    await db.close()
    const a = await runCli(['upgrade-db', '--json'], { env: await env(pg) })
    expect(a.code).toBe(4)
    expect(a.json.error.message).toContain('0.15.0')
    expect(a.json.error.hint).toContain('1.0.0')
    const my = await scratchMysql('cliold')
    scratches.push(my)
    await loadRelease(my, 'mysql', '1.10.1')
    const mdb = await openScratchDb(my.env)
    await sql.raw("UPDATE alembic_version SET version_num = '58eb7bdb93fe'").execute(mdb.kysely)
    await mdb.close()
    const b = await runCli(['upgrade-db', '--json'], { env: await env(my) })
    expect(b.code).toBe(4)
    expect(b.json.error.message).toMatch(/1\.6\.0.*1\.10\.1/)
  })
})
