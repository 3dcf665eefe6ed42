import type { Revision } from '../types.js'
import { renderAddColumn, renderIndex } from '../baseline/render.js'

export const revision: Revision = {
  revision: '9f4b7c2d1a80',
  downRevision: '0b2f2c8a9d1e',
  release: '1.15.0',
  description: 'add agent active config has model',
  statements: (dialect) => [
    ...renderAddColumn(dialect, 'agents', {
      name: 'active_config_has_model',
      type: 'boolean',
      notNull: true,
      default: 'false',
    }),
    ...renderIndex(dialect, 'agents', {
      name: 'agent_tenant_invitable_idx',
      columns: ['tenant_id', 'scope', 'status', 'active_config_has_model', 'updated_at'],
    }),
  ],
}
