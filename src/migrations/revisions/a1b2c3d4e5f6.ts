import type { Revision } from '../types.js'
import { renderAddColumn, renderTable } from '../baseline/render.js'
import type { ColumnSpec } from '../baseline/model.js'

const visibility: ColumnSpec = {
  name: 'visibility',
  type: 'varchar(40)',
  notNull: true,
  default: "'all_team_members'::character varying",
}

/**
 * Credential visibility. Dify branches on the dialect for credential_permissions: PG `id` default
 * `uuid_generate_v4()`, `has_permission` default true; MySQL no id default, default 1 — which are our MySQL rules.
 */
export const revision: Revision = {
  revision: 'a1b2c3d4e5f6',
  downRevision: '7885bd53f9a9',
  release: '1.15.0',
  description: 'add credential visibility and permission table',
  statements: (dialect) => [
    ...renderAddColumn(dialect, 'trigger_subscriptions', visibility),
    ...renderAddColumn(dialect, 'tool_builtin_providers', visibility),
    ...renderAddColumn(dialect, 'datasource_providers', { name: 'user_id', type: 'uuid' }),
    ...renderAddColumn(dialect, 'datasource_providers', visibility),
    ...renderAddColumn(dialect, 'provider_credentials', { name: 'user_id', type: 'uuid' }),
    ...renderAddColumn(dialect, 'provider_credentials', visibility),
    ...renderTable(dialect, {
      name: 'credential_permissions',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuid_generate_v4()' },
        { name: 'credential_id', type: 'uuid', notNull: true },
        { name: 'credential_type', type: 'varchar(40)', notNull: true },
        { name: 'account_id', type: 'uuid', notNull: true },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'has_permission', type: 'boolean', notNull: true, default: 'true' },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'credential_permission_pkey', columns: ['id'] },
      indexes: [
        { name: 'idx_credential_permissions_credential', columns: ['credential_id', 'credential_type'] },
        { name: 'idx_credential_permissions_account_id', columns: ['account_id'] },
        { name: 'idx_credential_permissions_tenant_id', columns: ['tenant_id'] },
      ],
    }),
  ],
}
