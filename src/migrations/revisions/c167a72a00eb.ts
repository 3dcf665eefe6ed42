import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

export const revision: Revision = {
  revision: 'c167a72a00eb',
  downRevision: 'c4d5e6f7a8b9',
  release: '1.15.0',
  description: 'add ask_human pause correlation to agent_runtime_sessions',
  statements: (dialect) => [
    ...renderAddColumn(dialect, 'agent_runtime_sessions', { name: 'pending_form_id', type: 'uuid' }),
    ...renderAddColumn(dialect, 'agent_runtime_sessions', { name: 'pending_tool_call_id', type: 'varchar(255)' }),
  ],
}
