import type { Revision } from '../types.js'
import { renderTable } from '../baseline/render.js'

/** Same on both dialects (`id` comes after the payload columns, as in Dify's file). */
export const revision: Revision = {
  revision: '7bad07dc267d',
  downRevision: '3df4dbcc1e21',
  release: '1.15.0',
  description: 'add agent_drive_files (agent drive KV)',
  statements: (dialect) =>
    renderTable(dialect, {
      name: 'agent_drive_files',
      columns: [
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'agent_id', type: 'uuid', notNull: true },
        { name: 'key', type: 'varchar(512)', notNull: true },
        { name: 'file_kind', type: 'varchar(32)', notNull: true },
        { name: 'file_id', type: 'uuid', notNull: true },
        { name: 'value_owned_by_drive', type: 'boolean', notNull: true, default: 'false' },
        { name: 'size', type: 'bigint' },
        { name: 'hash', type: 'varchar(255)' },
        { name: 'mime_type', type: 'varchar(255)' },
        { name: 'created_by', type: 'uuid' },
        { name: 'id', type: 'uuid', notNull: true },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'agent_drive_file_pkey', columns: ['id'] },
      uniques: [{ name: 'agent_drive_file_scope_key_unique', columns: ['tenant_id', 'agent_id', 'key'] }],
    }),
}
