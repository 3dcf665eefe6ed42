import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'
import { ddl, stmt } from '../compile.js'
import { createFromBaseline } from './_lib.js'

export const revision: Revision = {
  revision: '71f5020c6470',
  downRevision: '1c9ba48be8e4',
  release: '1.7.0',
  description: 'tool oauth',
  mysql: false,
  statements: (dialect) => {
    if (dialect === 'mysql') return []
    const k = ddl(dialect)
    const table = 'tool_builtin_providers'
    return [
      ...createFromBaseline(dialect, 'tool_oauth_system_clients'),
      // plugin_id was VARCHAR(512) until 09cfdda155d1
      ...createFromBaseline(dialect, 'tool_oauth_tenant_clients', {
        override: { plugin_id: { type: 'varchar(512)' } },
      }),
      ...renderAddColumn(dialect, table, {
        name: 'name',
        type: 'varchar(256)',
        notNull: true,
        default: "'API KEY 1'::character varying",
      }),
      ...renderAddColumn(dialect, table, { name: 'is_default', type: 'boolean', notNull: true, default: 'false' }),
      ...renderAddColumn(dialect, table, {
        name: 'credential_type',
        type: 'varchar(32)',
        notNull: true,
        default: "'api-key'::character varying",
      }),
      stmt(dialect, k.schema.alterTable(table).dropConstraint('unique_builtin_tool_provider'), { table }),
      stmt(
        dialect,
        k.schema
          .alterTable(table)
          .addUniqueConstraint('unique_builtin_tool_provider', ['tenant_id', 'provider', 'name']),
        { table },
      ),
    ]
  },
}
