import type { Revision } from '../types.js'
import { renderTable } from '../baseline/render.js'

/**
 * Agent tables. PG: `id` defaults to `uuidv7()`; MySQL: no id default (the application supplies it), LONGTEXT for
 * LongText. `agents.roster_unique_name` is a generated column (sa.Computed): STORED on PG, VIRTUAL on MySQL (what
 * SQLAlchemy renders there), with a unique constraint over it.
 */
export const revision: Revision = {
  revision: 'c6a9f4b12d3e',
  downRevision: 'a4f2d8c9b731',
  release: '1.15.0',
  description: 'add agent domain models',
  statements: (dialect) => [
    ...renderTable(dialect, {
      name: 'agents',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuidv7()' },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'name', type: 'varchar(255)', notNull: true },
        { name: 'description', type: 'longtext', notNull: true },
        { name: 'icon_type', type: 'varchar(32)' },
        {
          name: 'icon',
          type: 'varchar(255)',
          comment: 'Icon payload interpreted by icon_type: emoji character, image file id, or external URL.',
        },
        { name: 'icon_background', type: 'varchar(255)' },
        { name: 'agent_kind', type: 'varchar(32)', notNull: true, default: "'dify_agent'::character varying" },
        { name: 'scope', type: 'varchar(32)', notNull: true },
        { name: 'source', type: 'varchar(32)', notNull: true },
        { name: 'app_id', type: 'uuid' },
        { name: 'workflow_id', type: 'uuid' },
        { name: 'workflow_node_id', type: 'varchar(255)' },
        { name: 'active_config_snapshot_id', type: 'uuid' },
        { name: 'status', type: 'varchar(32)', notNull: true, default: "'active'::character varying" },
        {
          name: 'roster_unique_name',
          type: 'varchar(255)',
          generated: "CASE WHEN scope = 'roster' AND status = 'active' THEN name ELSE NULL END",
        },
        { name: 'created_by', type: 'uuid' },
        { name: 'updated_by', type: 'uuid' },
        { name: 'archived_by', type: 'uuid' },
        { name: 'archived_at', type: 'timestamp' },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'agent_pkey', columns: ['id'] },
      uniques: [{ name: 'agents_tenant_id_key', columns: ['tenant_id', 'roster_unique_name'] }],
      indexes: [
        { name: 'agent_tenant_updated_at_idx', columns: ['tenant_id', 'updated_at'] },
        { name: 'agent_tenant_scope_idx', columns: ['tenant_id', 'scope'] },
        { name: 'agent_tenant_workflow_id_idx', columns: ['tenant_id', 'workflow_id'] },
        { name: 'agent_tenant_app_id_idx', columns: ['tenant_id', 'app_id'] },
        { name: 'agent_active_config_snapshot_id_idx', columns: ['active_config_snapshot_id'] },
      ],
    }),
    ...renderTable(dialect, {
      name: 'agent_config_snapshots',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuidv7()' },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'agent_id', type: 'uuid', notNull: true },
        { name: 'version', type: 'int', notNull: true },
        {
          name: 'config_snapshot',
          type: 'longtext',
          notNull: true,
          comment: 'Serialized services.entities.agent_entities.AgentSoulConfig JSON.',
        },
        { name: 'summary', type: 'longtext' },
        { name: 'version_note', type: 'longtext' },
        { name: 'created_by', type: 'uuid' },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'agent_config_snapshot_pkey', columns: ['id'] },
      uniques: [{ name: 'agent_config_snapshot_agent_version_unique', columns: ['agent_id', 'version'] }],
      indexes: [
        { name: 'agent_config_snapshot_tenant_agent_created_at_idx', columns: ['tenant_id', 'agent_id', 'created_at'] },
        { name: 'agent_config_snapshot_tenant_created_at_idx', columns: ['tenant_id', 'created_at'] },
      ],
    }),
    ...renderTable(dialect, {
      name: 'workflow_agent_node_bindings',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuidv7()' },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'app_id', type: 'uuid', notNull: true },
        { name: 'workflow_id', type: 'uuid', notNull: true },
        { name: 'node_id', type: 'varchar(255)', notNull: true },
        { name: 'binding_type', type: 'varchar(32)', notNull: true },
        { name: 'agent_id', type: 'uuid' },
        { name: 'current_snapshot_id', type: 'uuid' },
        { name: 'node_job_config', type: 'longtext', notNull: true },
        { name: 'created_by', type: 'uuid' },
        { name: 'updated_by', type: 'uuid' },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'workflow_agent_node_binding_pkey', columns: ['id'] },
      uniques: [{ name: 'workflow_agent_node_binding_node_unique', columns: ['tenant_id', 'workflow_id', 'node_id'] }],
      indexes: [
        { name: 'workflow_agent_node_binding_agent_idx', columns: ['tenant_id', 'agent_id'] },
        { name: 'workflow_agent_node_binding_current_snapshot_idx', columns: ['tenant_id', 'current_snapshot_id'] },
        { name: 'workflow_agent_node_binding_app_idx', columns: ['tenant_id', 'app_id'] },
      ],
    }),
  ],
}
