import type { Revision } from '../types.js'
import { renderIndex } from '../baseline/render.js'
import { dropIndex } from '../ops.js'

/** Drops `message_created_at_idx` on messages, adds `saved_message_message_id_idx` (same on both dialects). */
export const revision: Revision = {
  revision: 'fce013ca180e',
  downRevision: 'f55813ffe2c8',
  release: '1.13.0',
  description: 'fix index to optimize message clean job performance',
  statements: (dialect) => [
    dropIndex(dialect, 'messages', 'message_created_at_idx'),
    ...renderIndex(dialect, 'saved_messages', { name: 'saved_message_message_id_idx', columns: ['message_id'] }),
  ],
}
