import type { Revision } from '../types.js'
import { renderAddColumn, renderTable } from '../baseline/render.js'

/** PG: CURRENT_TIMESTAMP(0) defaults; MySQL: CURRENT_TIMESTAMP, JSON for AdjustedJSON, LONGTEXT. */
export const revision: Revision = {
  revision: '2b3c4d5e6f70',
  downRevision: '8d4c2a1b9f03',
  release: '1.15.0',
  description: 'add customized snippets',
  statements: (dialect) => [
    ...renderTable(dialect, {
      name: 'customized_snippets',
      columns: [
        { name: 'id', type: 'uuid', notNull: true },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'name', type: 'varchar(255)', notNull: true },
        { name: 'description', type: 'longtext' },
        { name: 'type', type: 'varchar(50)', notNull: true, default: "'node'::character varying" },
        { name: 'workflow_id', type: 'uuid' },
        { name: 'is_published', type: 'boolean', notNull: true, default: 'false' },
        { name: 'version', type: 'int', notNull: true, default: '1' },
        { name: 'use_count', type: 'int', notNull: true, default: '0' },
        { name: 'icon_info', type: 'jsonb' },
        { name: 'input_fields', type: 'longtext' },
        { name: 'created_by', type: 'uuid' },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP(0)' },
        { name: 'updated_by', type: 'uuid' },
        { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP(0)' },
      ],
      primaryKey: { name: 'customized_snippet_pkey', columns: ['id'] },
      indexes: [{ name: 'customized_snippet_tenant_idx', columns: ['tenant_id'] }],
    }),
    ...renderAddColumn(dialect, 'workflows', { name: 'kind', type: 'varchar(255)' }),
  ],
}
