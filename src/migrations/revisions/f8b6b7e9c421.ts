import type { Revision } from '../types.js'
import { renderTable } from '../baseline/render.js'

/** PG: `id` defaults to `uuidv7()`; MySQL: no id default, LONGTEXT. */
export const revision: Revision = {
  revision: 'f8b6b7e9c421',
  downRevision: 'c6a9f4b12d3e',
  release: '1.15.0',
  description: 'add agent config revisions',
  statements: (dialect) =>
    renderTable(dialect, {
      name: 'agent_config_revisions',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuidv7()' },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'agent_id', type: 'uuid', notNull: true },
        { name: 'previous_snapshot_id', type: 'uuid' },
        { name: 'current_snapshot_id', type: 'uuid', notNull: true },
        { name: 'revision', type: 'int', notNull: true },
        { name: 'operation', type: 'varchar(64)', notNull: true },
        { name: 'summary', type: 'longtext' },
        { name: 'version_note', type: 'longtext' },
        { name: 'created_by', type: 'uuid' },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'agent_config_revision_pkey', columns: ['id'] },
      uniques: [{ name: 'agent_config_revision_agent_revision_unique', columns: ['agent_id', 'revision'] }],
      indexes: [
        { name: 'agent_config_revision_tenant_agent_created_at_idx', columns: ['tenant_id', 'agent_id', 'created_at'] },
        {
          name: 'agent_config_revision_tenant_current_snapshot_created_at_idx',
          columns: ['tenant_id', 'current_snapshot_id', 'created_at'],
        },
      ],
    }),
}
