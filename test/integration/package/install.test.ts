import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodeBinary } from '../../support/node-versions.js'
import { scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { loadOracleSchema } from '../../support/dify-schema.js'

// The shipping path of issue 11: the self-contained tarball (no npm needed in dify-api), installed with the same
// script the Dockerfile runs, then run as an unprivileged user with no HOME under Node 18.19 and Node 22.
const root = fileURLToPath(new URL('../../..', import.meta.url))
let work: string
let tarball: string
let db: Scratch
let redis: ScratchRedis

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dops-pkg-'))
  chmodSync(work, 0o755)
  tarball = execFileSync('bash', [join(root, 'scripts/pack.sh')], { cwd: root, encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop()!
  db = await scratchPg('pkg')
  redis = await scratchRedis('pkg')
  loadOracleSchema(db.name, '788d3099ae3a')
}, 300_000)
afterAll(async () => {
  rmSync(work, { recursive: true, force: true })
  await db?.drop()
  await redis?.drop()
})

describe.each(['18.19.1', '22'] as const)('installed tarball under Node %s, as nobody with no HOME', (version) => {
  it('runs dify --version and dify doctor --json with only the environment', () => {
    const nodeDir = join(work, `node-${version}`)
    execFileSync('mkdir', ['-p', nodeDir])
    copyFileSync(nodeBinary(version), join(nodeDir, 'node'))
    chmodSync(join(nodeDir, 'node'), 0o755)
    const prefix = join(work, `prefix-${version}`)
    const bindir = join(work, `bin-${version}`)
    const PATH = `${nodeDir}:/usr/bin:/bin`
    execFileSync('sh', [join(root, 'docker/install.sh'), join(root, tarball), prefix, bindir], {
      env: { PATH },
      stdio: 'pipe',
    })
    const asNobody = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(
        'runuser',
        [
          '-u',
          'nobody',
          '--',
          'env',
          '-i',
          `PATH=${PATH}`,
          ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
          join(bindir, 'dify'),
          ...args,
        ],
        {
          cwd: work,
          encoding: 'utf8',
          timeout: 120_000,
        },
      )
    const v = asNobody(['--version'])
    expect(v.status, v.stderr).toBe(0)
    expect(v.stdout).toContain(`node-v${version === '22' ? '22' : version}`)
    const storage = mkdtempSync(join(tmpdir(), 'dops-pkg-st-'))
    chmodSync(storage, 0o777)
    const d = asNobody(['doctor', '--json'], {
      ...db.env,
      ...redis.env,
      OPENDAL_FS_ROOT: storage,
      VECTOR_STORE: 'pgvector',
      PGVECTOR_HOST: '127.0.0.1',
      PGVECTOR_PORT: '5432',
      PGVECTOR_DATABASE: db.name,
    })
    const report = JSON.parse(d.stdout)
    expect(report.database).toMatchObject({ revision: '788d3099ae3a', supported: true })
    expect(report.checks.find((c: { name: string }) => c.name === 'storage').status).toBe('ok')
    expect([0, 8]).toContain(d.status)
    rmSync(storage, { recursive: true, force: true })
  }, 180_000)
})
