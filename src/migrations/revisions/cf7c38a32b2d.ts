import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

export const revision: Revision = {
  revision: 'cf7c38a32b2d',
  downRevision: 'c20211f18133',
  release: '1.9.0',
  description: 'add credential status for provider table',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : renderAddColumn(dialect, 'providers', {
          name: 'credential_status',
          type: 'varchar(20)',
          default: "'active'::character varying",
        }),
}
