import { describe, expect, it } from 'vitest'
import { runCli } from '../../support/cli.js'
import { nodeBinary } from '../../support/node-versions.js'

// dify-api images 1.11.0–1.11.2 carry Node 18.19; 1.11.3+ carry Node 22.
describe.each(['18.19.1', '22'] as const)('the built CLI under Node %s', (version) => {
  it('prints its version', async () => {
    const r = await runCli(['--version'], { node: nodeBinary(version) })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      new RegExp(`^dify-ops/\\d+\\.\\d+\\.\\d+ linux-x64 node-v${version.replace(/\./g, '\\.')}`),
    )
  })

  it('runs config show', async () => {
    const r = await runCli(['config', 'show', '--json'], {
      node: nodeBinary(version),
      env: { DB_HOST: 'db', DB_PASSWORD: 'pw-Zq' },
    })
    expect(r.code).toBe(0)
    expect(r.json.effective.database).toBe('postgresql://db:5432/dify')
    expect(r.stdout).not.toContain('pw-Zq')
  })

  it('shows help', async () => {
    const r = await runCli(['--help'], { node: nodeBinary(version) })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('doctor')
  })
})
