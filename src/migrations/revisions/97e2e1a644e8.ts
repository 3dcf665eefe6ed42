import type { Revision } from '../types.js'
import { renderAddColumn, renderIndex } from '../baseline/render.js'
import { addUnique, dropDefault, dropUnique } from '../ops.js'

/** The column is added with default 'draft' (to fill existing rows), which is dropped at once; same on both dialects. */
export const revision: Revision = {
  revision: '97e2e1a644e8',
  downRevision: 'f8b6b7e9c421',
  release: '1.15.0',
  description: 'add workflow_version to workflow_agent_node_bindings',
  statements: (dialect) => {
    const t = 'workflow_agent_node_bindings'
    return [
      ...renderAddColumn(dialect, t, {
        name: 'workflow_version',
        type: 'varchar(255)',
        notNull: true,
        default: "'draft'::character varying",
      }),
      dropDefault(dialect, t, 'workflow_version'),
      dropUnique(dialect, t, 'workflow_agent_node_binding_node_unique'),
      addUnique(dialect, t, 'workflow_agent_node_binding_node_version_unique', [
        'tenant_id',
        'workflow_id',
        'workflow_version',
        'node_id',
      ]),
      ...renderIndex(dialect, t, {
        name: 'workflow_agent_node_binding_workflow_version_idx',
        columns: ['tenant_id', 'workflow_id', 'workflow_version'],
      }),
    ]
  },
}
