import { tmpdir } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Runtime } from '../../../src/runtime/index.js'
import { loadConfig } from '../../../src/config/schema.js'
import { loadProfile } from '../../../src/dify/schema-version.js'
import { findOrphans } from '../../../src/storage/orphans.js'
import { storageUsage } from '../../../src/storage/usage.js'
import { quarantineOrphans } from '../../../src/storage/quarantine.js'
import { classifyPath } from '../../../src/dify/storage-refs.js'
import { storageWorld, type StorageWorld } from '../../support/storage-world.js'

const DAY = 86_400

const CASES = [
  ['postgres', '1.12.1'],
  ['postgres', '1.15.0'],
  ['mysql', '1.15.0'],
] as const
for (const [dialect, release] of CASES) {
  describe(`storage orphans and usage (${dialect === 'postgres' ? 'PostgreSQL' : 'MariaDB'}, Dify ${release}, OpenDAL fs)`, () => {
    let w: StorageWorld
    let rt: Runtime
    beforeAll(async () => {
      w = await storageWorld(`storage${dialect}${release}`, release, dialect)
      rt = new Runtime(loadConfig({ env: w.env, noDotenv: true, cwd: tmpdir() }))
    }, 120_000)
    afterAll(async () => {
      await rt?.close()
      await w?.close()
    })

    const orphans = async (minAgeSeconds = DAY) => {
      const db = await rt.db()
      return findOrphans({ db, profile: await loadProfile(db), storage: await rt.storage() }, { minAgeSeconds })
    }

    it('finds exactly the planted old orphans and the row whose object is missing', async () => {
      const r = await orphans()
      expect(r.orphans.map((o) => o.path).sort()).toEqual([...w.orphans].sort())
      expect(r.missing).toHaveLength(1)
      expect(r.missing[0]).toMatchObject({
        type: 'missing',
        table: 'upload_files',
        id: w.missingRow.id,
        key: w.missingRow.key,
        size: 11,
        tenantId: w.tenants[1],
        prefix: 'upload_files/',
      })
      const o = r.orphans.find((x) => x.path.startsWith('tools/'))!
      expect(o).toMatchObject({
        size: 'orphanorphan'.length,
        prefix: 'tools/',
        kind: 'tool-file',
        tenantId: w.tenants[1],
      })
      expect(o.ageSeconds).toBeGreaterThanOrEqual(11 * DAY - 60)
      // the young one, the row-less object named in a segment: kept, and counted
      expect(r.summary).toMatchObject({
        orphans: 3,
        missing: 1,
        keptYoung: 1,
        keptReferencedInText: 1,
        keptUnknownAge: 0,
        objects: w.objects.size,
      })
      // privkeys, .dify_secret_key, keyword index, trace, unknown prefix: never orphans
      expect(r.summary.keptOtherAreas).toBe(6)
      expect(r.summary.orphanBytes).toBe(w.orphans.reduce((n, p) => n + w.objects.get(p)!, 0))
    })

    it('--min-age 0 makes the young one an orphan; a huge --min-age none', async () => {
      const all = await orphans(0)
      expect(all.orphans.map((o) => o.path).sort()).toEqual([...w.orphans, w.youngOrphan].sort())
      const none = await orphans(365 * DAY)
      expect(none.orphans).toEqual([])
      expect(none.missing).toHaveLength(1)
    })

    it('every referenced kind is kept: avatar, app and site icons, markdown-only, workflow output, tool file', async () => {
      const r = await orphans(0)
      const flagged = new Set(r.orphans.map((o) => o.path))
      for (const p of w.objects.keys())
        if (!w.orphans.includes(p) && p !== w.youngOrphan) expect(flagged.has(p), p).toBe(false)
    })

    it('quarantine interrupted during the scan moves nothing', async () => {
      const db = await rt.db()
      const ac = new AbortController()
      ac.abort()
      const r = await quarantineOrphans(
        { db, profile: await loadProfile(db), storage: await rt.storage() },
        {
          minAgeSeconds: DAY,
          dryRun: false,
          signal: ac.signal,
          confirm: async () => {
            throw new Error('asked')
          },
        },
      )
      expect(r).toMatchObject({ runId: null, moved: [] })
      for (const p of w.orphans) expect(await (await rt.storage()).exists(p)).toBe(true)
    })

    it('usage: totals and every grouping sum to the objects written', async () => {
      const storage = await rt.storage()
      const total = [...w.objects.values()].reduce((a, b) => a + b, 0)
      for (const by of ['prefix', 'tenant', 'kind'] as const) {
        const u = await storageUsage(storage, { by })
        expect(u.total).toEqual({ objects: w.objects.size, bytes: total })
        expect(u.groups.reduce((n, g) => n + g.bytes, 0)).toBe(total)
        expect(u.groups.reduce((n, g) => n + g.objects, 0)).toBe(w.objects.size)
      }
      const byTenant = await storageUsage(storage, { by: 'tenant' })
      for (const t of w.tenants) {
        const expected = [...w.objects].filter(([p]) => classifyPath(p).tenantId === t)
        expect(byTenant.groups.find((g) => g.key === t)).toEqual({
          key: t,
          objects: expected.length,
          bytes: expected.reduce((n, [, s]) => n + s, 0),
        })
      }
      const byPrefix = await storageUsage(storage, { by: 'prefix', top: 2 })
      expect(byPrefix.groups).toHaveLength(2)
      expect(byPrefix.otherGroups).toBeGreaterThan(0)
      const privkeys = (await storageUsage(storage, { by: 'prefix' })).groups.find((g) => g.key === 'privkeys/')!
      expect(privkeys.objects).toBe(2)
    })
  })
}
