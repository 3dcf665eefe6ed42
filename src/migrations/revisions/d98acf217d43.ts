import type { Revision } from '../types.js'
import { renderAddColumn, renderIndex } from '../baseline/render.js'

export const revision: Revision = {
  revision: 'd98acf217d43',
  downRevision: '68519ad5cd18',
  release: '1.9.2',
  description: 'add app_mode for messsage',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          ...renderAddColumn(dialect, 'messages', { name: 'app_mode', type: 'varchar(255)' }),
          ...renderIndex(dialect, 'messages', { name: 'message_app_mode_idx', columns: ['app_mode'] }),
        ],
}
