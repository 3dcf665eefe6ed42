import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'
import { addColumnIfMissing } from '../ops.js'

/**
 * Dify skips the ALTER when `tenant_account_joins.last_opened_at` already exists (it inspects the table online;
 * offline it assumes the column is missing). We do the same check (information_schema) on both dialects.
 */
export const revision: Revision = {
  revision: 'b7c2d9e8a1f4',
  downRevision: '9f4b7c2d1a80',
  release: '1.15.0',
  description: 'add tenant account join last opened at',
  statements: (dialect) => {
    const [add] = renderAddColumn(dialect, 'tenant_account_joins', { name: 'last_opened_at', type: 'timestamp' })
    return [addColumnIfMissing(dialect, 'tenant_account_joins', add!, 'last_opened_at')]
  },
}
