import type { Revision } from '../types.js'
import { backupColumns, droppedColumnsEffect, dropColumn, dropIndex } from './_lib.js'

/**
 * Dify drops workflow_runs.sequence_number for good (its downgrade cannot restore the values). We keep
 * (id, sequence_number) in dify_ops_backup_0ab65e1cc7fa_workflow_runs first, in the same transaction.
 */
export const revision: Revision = {
  revision: '0ab65e1cc7fa',
  downRevision: '4474872b0ee6',
  release: '1.5.0',
  description: 'remove sequence_number from workflow_runs',
  mysql: false,
  dataEffects: [droppedColumnsEffect('0ab65e1cc7fa', 'workflow_runs', ['sequence_number'])],
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          backupColumns(dialect, '0ab65e1cc7fa', 'workflow_runs', 'id', ['sequence_number']),
          dropIndex(dialect, 'workflow_runs', 'workflow_run_tenant_app_sequence_idx'),
          dropColumn(dialect, 'workflow_runs', 'sequence_number'),
        ],
}
