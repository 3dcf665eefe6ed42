import type { Revision } from '../types.js'
import { alterType } from './_lib.js'

export const revision: Revision = {
  revision: '1a83934ad6d1',
  downRevision: '71f5020c6470',
  release: '1.7.0',
  description: 'update models',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          alterType(dialect, 'tool_mcp_providers', 'server_identifier', 'varchar(64)'),
          alterType(dialect, 'tool_model_invokes', 'tool_name', 'varchar(128)'),
        ],
}
