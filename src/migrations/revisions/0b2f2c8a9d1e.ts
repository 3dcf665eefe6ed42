import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'
import { dropDefault } from '../ops.js'

/** Added with default '' to fill existing rows, then the default is dropped (both dialects). */
export const revision: Revision = {
  revision: '0b2f2c8a9d1e',
  downRevision: '7bad07dc267d',
  release: '1.15.0',
  description: 'add agent role',
  statements: (dialect) => [
    ...renderAddColumn(dialect, 'agents', {
      name: 'role',
      type: 'varchar(255)',
      notNull: true,
      default: "''::character varying",
    }),
    dropDefault(dialect, 'agents', 'role'),
  ],
}
