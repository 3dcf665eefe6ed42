import type { Revision } from '../types.js'
import { ddl, stmt } from '../compile.js'
import { renderTable } from '../baseline/render.js'

/**
 * Replaces workflow_agent_runtime_sessions (created one revision earlier in the same release) by
 * agent_runtime_sessions. PG: `id` default `uuidv7()`, the two unique indexes are partial; MySQL: plain unique
 * indexes (postgresql_where dropped), no id default.
 */
export const revision: Revision = {
  revision: '121e7346074d',
  downRevision: 'a1b2c3d4e5f6',
  release: '1.15.0',
  description: 'unify agent runtime sessions table',
  statements: (dialect) => [
    stmt(dialect, ddl(dialect).schema.dropTable('workflow_agent_runtime_sessions'), {
      table: 'workflow_agent_runtime_sessions',
    }),
    ...renderTable(dialect, {
      name: 'agent_runtime_sessions',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuidv7()' },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'app_id', type: 'uuid', notNull: true },
        { name: 'owner_type', type: 'varchar(32)', notNull: true },
        { name: 'agent_id', type: 'uuid', notNull: true },
        { name: 'backend_run_id', type: 'varchar(255)' },
        { name: 'session_snapshot', type: 'longtext', notNull: true },
        { name: 'workflow_id', type: 'uuid' },
        { name: 'workflow_run_id', type: 'uuid' },
        { name: 'node_id', type: 'varchar(255)' },
        { name: 'node_execution_id', type: 'varchar(255)' },
        { name: 'binding_id', type: 'uuid' },
        { name: 'agent_config_snapshot_id', type: 'uuid' },
        { name: 'composition_layer_specs', type: 'longtext', notNull: true },
        { name: 'conversation_id', type: 'uuid' },
        { name: 'status', type: 'varchar(32)', notNull: true, default: "'active'::character varying" },
        { name: 'cleaned_at', type: 'timestamp' },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'agent_runtime_session_pkey', columns: ['id'] },
      indexes: [
        {
          name: 'agent_runtime_session_workflow_scope_unique',
          unique: true,
          columns: ['tenant_id', 'workflow_run_id', 'node_id', 'binding_id', 'agent_id'],
          predicate: 'workflow_run_id IS NOT NULL',
        },
        {
          name: 'agent_runtime_session_conversation_scope_unique',
          unique: true,
          columns: ['tenant_id', 'conversation_id', 'agent_id', 'agent_config_snapshot_id'],
          predicate: 'conversation_id IS NOT NULL',
        },
        {
          name: 'agent_runtime_session_workflow_lookup_idx',
          columns: ['tenant_id', 'workflow_run_id', 'node_id', 'status'],
        },
        { name: 'agent_runtime_session_conversation_lookup_idx', columns: ['tenant_id', 'conversation_id', 'status'] },
        { name: 'agent_runtime_session_backend_run_idx', columns: ['backend_run_id'] },
      ],
    }),
  ],
}
