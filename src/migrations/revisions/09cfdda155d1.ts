import type { Revision } from '../types.js'
import { alterType } from './_lib.js'

/**
 * Dify's MySQL adaptation (PR #28188). On PostgreSQL it changes six column types; a MySQL database is created by
 * Dify 1.10.1 at this revision already (Dify's first MySQL release), so this revision is never applied on MySQL.
 */
export const revision: Revision = {
  revision: '09cfdda155d1',
  downRevision: '669ffd70119c',
  release: '1.10.1',
  description: 'mysql adaptation',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          alterType(dialect, 'datasource_providers', 'provider', 'varchar(128)'),
          alterType(dialect, 'external_knowledge_bindings', 'external_knowledge_id', 'varchar(512)'),
          alterType(
            dialect,
            'tenant_plugin_auto_upgrade_strategies',
            'exclude_plugins',
            'json',
            'to_jsonb(exclude_plugins)::json',
          ),
          alterType(
            dialect,
            'tenant_plugin_auto_upgrade_strategies',
            'include_plugins',
            'json',
            'to_jsonb(include_plugins)::json',
          ),
          alterType(dialect, 'tool_oauth_tenant_clients', 'plugin_id', 'varchar(255)'),
          alterType(dialect, 'trigger_oauth_system_clients', 'plugin_id', 'varchar(255)'),
        ],
}
