import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

export const revision: Revision = {
  revision: 'fa8b0fa6f407',
  downRevision: '532b3f888abf',
  release: '1.8.0',
  description: 'add timeout for tool_mcp_providers',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          ...renderAddColumn(dialect, 'tool_mcp_providers', {
            name: 'timeout',
            type: 'float',
            notNull: true,
            default: '30',
          }),
          ...renderAddColumn(dialect, 'tool_mcp_providers', {
            name: 'sse_read_timeout',
            type: 'float',
            notNull: true,
            default: '300',
          }),
        ],
}
