import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

export const revision: Revision = {
  revision: 'c20211f18133',
  downRevision: 'b95962a3885c',
  release: '1.9.0',
  description: 'add_headers_to_mcp_provider',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : renderAddColumn(dialect, 'tool_mcp_providers', { name: 'encrypted_headers', type: 'longtext' }),
}
