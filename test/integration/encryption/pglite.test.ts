import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { openPglite } from '../../../src/runtime/pglite.js'
import { createDifySchema } from '../../support/dify-schema.js'
import { seedTenants, type SeedSink, type SeededTenant } from '../../support/encryption-seed.js'
import { lostSecrets } from '../../support/encryption-verify.js'
import { runCli } from '../../support/cli.js'

describe('encryption commands on PGlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dops-pglite-enc-'))
  const root = mkdtempSync(join(tmpdir(), 'dops-pglite-store-'))
  const env = {
    DB_TYPE: 'pglite',
    PGLITE_DATA_DIR: dir,
    STORAGE_TYPE: 'opendal',
    OPENDAL_SCHEME: 'fs',
    OPENDAL_FS_ROOT: root,
    EDITION: 'SELF_HOSTED',
    REDIS_HOST: '127.0.0.1',
    REDIS_KEY_PREFIX: `dops_pglite_enc_${process.pid}`,
  }
  let t: SeededTenant[]
  beforeAll(async () => {
    const db = await openPglite(dir)
    try {
      await createDifySchema(db)
      const sink: SeedSink = {
        dialect: 'postgres',
        insert: async (table, rows) => void (await (db.kysely as any).insertInto(table).values(rows).execute()),
      }
      t = await seedTenants(
        sink,
        async (p, pem) => {
          mkdirSync(dirname(join(root, p)), { recursive: true })
          writeFileSync(join(root, p), pem)
        },
        { count: 2 },
      )
    } finally {
      await db.close()
    }
  }, 300_000)
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
    rmSync(root, { recursive: true, force: true })
  })

  it('check, rotate, check: no secret lost', async () => {
    expect((await runCli(['encryption', 'check'], { env })).code).toBe(0)
    const r = await runCli(['encryption', 'rotate', '--yes', '--json'], { env })
    expect(r.code).toBe(0)
    expect(r.json.summary).toMatchObject({ rotated: 2, reencrypted: 40 })
    expect((await runCli(['encryption', 'check'], { env })).code).toBe(0)
    const db = await openPglite(dir)
    try {
      const lost = await lostSecrets(
        {
          query: async (text, params = []) =>
            (
              await sql
                .raw(text.replace(/\$(\d+)/g, (_, i) => `'${String(params[Number(i) - 1]).replace(/'/g, "''")}'`))
                .execute(db.kysely)
            ).rows as any[],
          text: (c) => `${c}::text`,
          readKey: (p) => (existsSync(join(root, p)) ? readFileSync(join(root, p), 'utf8') : undefined),
        },
        t,
      )
      expect(lost).toEqual([])
    } finally {
      await db.close()
    }
  }, 180_000)
})
