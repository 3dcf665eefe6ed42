import type { Revision } from '../types.js'
import { createFromBaseline } from './_lib.js'

export const revision: Revision = {
  revision: '2adcbe1f5dfb',
  downRevision: 'd28f2004b072',
  release: '1.4.1',
  description: 'add WorkflowDraftVariable model',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : createFromBaseline(dialect, 'workflow_draft_variables', {
          columns: [
            'id',
            'created_at',
            'updated_at',
            'app_id',
            'last_edited_at',
            'node_id',
            'name',
            'description',
            'selector',
            'value_type',
            'value',
            'visible',
            'editable',
          ],
          indexes: [],
        }),
}
