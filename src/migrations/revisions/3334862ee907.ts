import type { Revision } from '../types.js'
import { renderIndex } from '../baseline/render.js'

export const revision: Revision = {
  revision: '3334862ee907',
  downRevision: '905527cc8fd3',
  release: '1.12.0',
  description: 'feat: add created_at id index to messages',
  statements: (dialect) =>
    renderIndex(dialect, 'messages', { name: 'message_created_at_id_idx', columns: ['created_at', 'id'] }),
}
