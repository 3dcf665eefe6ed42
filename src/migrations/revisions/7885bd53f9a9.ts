import type { Revision } from '../types.js'
import { renderTable } from '../baseline/render.js'

/** Dropped again by 121e7346074d. PG: `id` defaults to `uuidv7()`; MySQL: no id default, LONGTEXT. */
export const revision: Revision = {
  revision: '7885bd53f9a9',
  downRevision: 'd4a5e1f3c9b7',
  release: '1.15.0',
  description: 'add workflow agent runtime sessions',
  statements: (dialect) =>
    renderTable(dialect, {
      name: 'workflow_agent_runtime_sessions',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuidv7()' },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'app_id', type: 'uuid', notNull: true },
        { name: 'workflow_id', type: 'uuid', notNull: true },
        { name: 'workflow_run_id', type: 'uuid', notNull: true },
        { name: 'node_id', type: 'varchar(255)', notNull: true },
        { name: 'node_execution_id', type: 'varchar(255)' },
        { name: 'binding_id', type: 'uuid', notNull: true },
        { name: 'agent_id', type: 'uuid', notNull: true },
        { name: 'agent_config_snapshot_id', type: 'uuid', notNull: true },
        { name: 'backend_run_id', type: 'varchar(255)' },
        { name: 'session_snapshot', type: 'longtext', notNull: true },
        { name: 'composition_layer_specs', type: 'longtext', notNull: true },
        { name: 'status', type: 'varchar(32)', notNull: true, default: "'active'::character varying" },
        { name: 'cleaned_at', type: 'timestamp' },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'workflow_agent_runtime_session_pkey', columns: ['id'] },
      uniques: [
        {
          name: 'workflow_agent_runtime_session_scope_unique',
          columns: ['tenant_id', 'workflow_run_id', 'node_id', 'binding_id', 'agent_id'],
        },
      ],
      indexes: [
        {
          name: 'workflow_agent_runtime_session_lookup_idx',
          columns: ['tenant_id', 'workflow_run_id', 'node_id', 'status'],
        },
        { name: 'workflow_agent_runtime_session_backend_run_idx', columns: ['backend_run_id'] },
      ],
    }),
}
