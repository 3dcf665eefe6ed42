import type { Revision } from '../types.js'
import { renderTable } from '../baseline/render.js'

/** PG: `id` default `uuidv7()`; MySQL: none. */
export const revision: Revision = {
  revision: 'c8f4a6b2d3e1',
  downRevision: 'b2515f9d4c2a',
  release: '1.15.0',
  description: 'add agent debug conversations',
  statements: (dialect) =>
    renderTable(dialect, {
      name: 'agent_debug_conversations',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuidv7()' },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'agent_id', type: 'uuid', notNull: true },
        { name: 'app_id', type: 'uuid', notNull: true },
        { name: 'account_id', type: 'uuid', notNull: true },
        { name: 'conversation_id', type: 'uuid', notNull: true },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'agent_debug_conversation_pkey', columns: ['id'] },
      uniques: [
        { name: 'agent_debug_conversation_agent_account_unique', columns: ['tenant_id', 'agent_id', 'account_id'] },
      ],
      indexes: [
        { name: 'agent_debug_conversation_conversation_idx', columns: ['conversation_id'] },
        { name: 'agent_debug_conversation_account_idx', columns: ['tenant_id', 'account_id'] },
      ],
    }),
}
