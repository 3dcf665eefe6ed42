import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

export const revision: Revision = {
  revision: '375fe79ead14',
  downRevision: '1a83934ad6d1',
  release: '1.7.0',
  description: 'oauth_refresh_token',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : renderAddColumn(dialect, 'tool_builtin_providers', {
          name: 'expires_at',
          type: 'bigint',
          notNull: true,
          default: '-1',
        }),
}
