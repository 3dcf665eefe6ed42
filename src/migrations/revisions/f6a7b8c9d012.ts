import type { Revision } from '../types.js'
import { renderAddColumn, renderIndex } from '../baseline/render.js'
import { addUnique, dropUnique } from '../ops.js'

/** Existing strategies become category 'tool'; the unique key moves from tenant to (tenant, category). Both dialects. */
export const revision: Revision = {
  revision: 'f6a7b8c9d012',
  downRevision: 'b7c2d9e8a1f4',
  release: '1.15.0',
  description: 'add plugin auto upgrade category',
  statements: (dialect) => {
    const t = 'tenant_plugin_auto_upgrade_strategies'
    return [
      ...renderAddColumn(dialect, t, {
        name: 'category',
        type: 'varchar(32)',
        notNull: true,
        default: "'tool'::character varying",
      }),
      dropUnique(dialect, t, 'unique_tenant_plugin_auto_upgrade_strategy'),
      addUnique(dialect, t, 'unique_tenant_plugin_auto_upgrade_strategy', ['tenant_id', 'category']),
      ...renderIndex(dialect, t, {
        name: 'idx_tenant_plugin_auto_upgrade_strategy_time',
        columns: ['upgrade_time_of_day'],
      }),
    ]
  },
}
