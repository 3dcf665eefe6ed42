import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

export const revision: Revision = {
  revision: '3df4dbcc1e21',
  downRevision: '2b3c4d5e6f70',
  release: '1.15.0',
  description: 'add identity mode to mcp tool provider',
  statements: (dialect) =>
    renderAddColumn(dialect, 'tool_mcp_providers', {
      name: 'identity_mode',
      type: 'varchar(32)',
      notNull: true,
      default: "'off'::character varying",
    }),
}
