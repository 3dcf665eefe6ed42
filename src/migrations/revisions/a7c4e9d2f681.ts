import type { Revision } from '../types.js'
import { renderAddColumn, renderIndex } from '../baseline/render.js'
import { update } from '../ops.js'

/**
 * `maintainer` on apps and datasets, indexed (SHARE lock, no CONCURRENTLY), then filled from `created_by` for every
 * row (a full-table UPDATE: ROW EXCLUSIVE, every row rewritten). Same on both dialects.
 */
export const revision: Revision = {
  revision: 'a7c4e9d2f681',
  downRevision: 'd2f1a4b8c3e0',
  release: '1.15.0',
  description: 'add resource maintainers',
  statements: (dialect) => [
    ...renderAddColumn(dialect, 'apps', { name: 'maintainer', type: 'uuid' }),
    ...renderIndex(dialect, 'apps', { name: 'app_tenant_maintainer_idx', columns: ['tenant_id', 'maintainer'] }),
    ...renderAddColumn(dialect, 'datasets', { name: 'maintainer', type: 'uuid' }),
    ...renderIndex(dialect, 'datasets', {
      name: 'dataset_tenant_maintainer_idx',
      columns: ['tenant_id', 'maintainer'],
    }),
    update(dialect, 'apps', { maintainer: 'created_by' }, 'maintainer IS NULL'),
    update(dialect, 'datasets', { maintainer: 'created_by' }, 'maintainer IS NULL'),
  ],
}
