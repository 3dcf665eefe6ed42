import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

export const revision: Revision = {
  revision: 'd2f1a4b8c3e0',
  downRevision: 'c167a72a00eb',
  release: '1.15.0',
  description: 'add conversation_id to human_input_forms for agent v2 chat hitl',
  statements: (dialect) => renderAddColumn(dialect, 'human_input_forms', { name: 'conversation_id', type: 'uuid' }),
}
