import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A Dify code root (api/migrations/versions) whose chain holds 1.15.0's head d9e8f7a6b5c4 and one later revision
 * `newRev` descending from it: what --dify-root / DIFY_OPS_DIFY_ROOT points at to make a database at `newRev`
 * "newer than this CLI knows".
 */
export function fakeDifyCode(newRev: string): string {
  const root = mkdtempSync(join(tmpdir(), 'dops-dify-'))
  const dir = join(root, 'api', 'migrations', 'versions')
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, '2026_06_20_1200-d9e8f7a6b5c4_last_of_1_15.py'),
    `"""1.15.0 head"""\nrevision = 'd9e8f7a6b5c4'\ndown_revision = 'c8f4a6b2d3e1'\n`,
  )
  writeFileSync(
    join(dir, `2026_07_02_0900-${newRev}_add_future_table.py`),
    `"""a later release"""\nrevision = "${newRev}"\ndown_revision = "d9e8f7a6b5c4"\nbranch_labels = None\n`,
  )
  return root
}
