import type { Revision } from '../types.js'
import { createFromBaseline } from './_lib.js'

export const revision: Revision = {
  revision: '58eb7bdb93fe',
  downRevision: '0ab65e1cc7fa',
  release: '1.6.0',
  description: 'add mcp server tool and app server',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          ...createFromBaseline(dialect, 'app_mcp_servers'),
          // server_identifier was VARCHAR(24) until 1a83934ad6d1; timeout, sse_read_timeout and encrypted_headers came later
          ...createFromBaseline(dialect, 'tool_mcp_providers', {
            columns: [
              'id',
              'name',
              'server_identifier',
              'server_url',
              'server_url_hash',
              'icon',
              'tenant_id',
              'user_id',
              'encrypted_credentials',
              'authed',
              'tools',
              'created_at',
              'updated_at',
            ],
            override: { server_identifier: { type: 'varchar(24)' } },
          }),
        ],
}
