import type { Revision } from '../types.js'
import { renderTable } from '../baseline/render.js'

export const revision: Revision = {
  revision: 'c4d5e6f7a8b9',
  downRevision: 'f5e8a9c0d2b3',
  release: '1.15.0',
  description: 'add app stars',
  statements: (dialect) =>
    renderTable(dialect, {
      name: 'app_stars',
      columns: [
        { name: 'id', type: 'uuid', notNull: true },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'app_id', type: 'uuid', notNull: true },
        { name: 'account_id', type: 'uuid', notNull: true },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'app_star_pkey', columns: ['id'] },
      uniques: [{ name: 'app_star_tenant_account_app_unique', columns: ['tenant_id', 'account_id', 'app_id'] }],
      indexes: [
        { name: 'app_star_tenant_account_idx', columns: ['tenant_id', 'account_id'] },
        { name: 'app_star_app_idx', columns: ['app_id'] },
      ],
    }),
}
