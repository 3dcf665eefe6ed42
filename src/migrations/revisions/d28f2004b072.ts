import type { Revision } from '../types.js'
import { renderIndex } from '../baseline/render.js'

export const revision: Revision = {
  revision: 'd28f2004b072',
  downRevision: '6a9f914f656c',
  release: '1.4.0',
  description: 'add index for workflow_conversation_variables.conversation_id',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : renderIndex(dialect, 'workflow_conversation_variables', {
          name: 'workflow_conversation_variables_conversation_id_idx',
          columns: ['conversation_id'],
        }),
}
