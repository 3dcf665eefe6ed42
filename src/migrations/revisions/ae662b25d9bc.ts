import type { Revision } from '../types.js'
import { backupColumns, droppedColumnsEffect, dropColumn } from './_lib.js'

/** Dify drops the two user columns of the built-in templates; we keep (id, updated_by, created_by) first. */
export const revision: Revision = {
  revision: 'ae662b25d9bc',
  downRevision: 'd98acf217d43',
  release: '1.9.2',
  description: 'remove-builtin-template-user',
  mysql: false,
  dataEffects: [droppedColumnsEffect('ae662b25d9bc', 'pipeline_built_in_templates', ['updated_by', 'created_by'])],
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          backupColumns(dialect, 'ae662b25d9bc', 'pipeline_built_in_templates', 'id', ['updated_by', 'created_by']),
          dropColumn(dialect, 'pipeline_built_in_templates', 'updated_by'),
          dropColumn(dialect, 'pipeline_built_in_templates', 'created_by'),
        ],
}
