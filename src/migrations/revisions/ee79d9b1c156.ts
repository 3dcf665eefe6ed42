import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

export const revision: Revision = {
  revision: 'ee79d9b1c156',
  downRevision: '5511c782ee4c',
  release: '1.0.1',
  description: 'add marked_name and marked_comment in workflows',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          ...renderAddColumn(dialect, 'workflows', {
            name: 'marked_name',
            type: 'varchar',
            notNull: true,
            default: "''::character varying",
          }),
          ...renderAddColumn(dialect, 'workflows', {
            name: 'marked_comment',
            type: 'varchar',
            notNull: true,
            default: "''::character varying",
          }),
        ],
}
