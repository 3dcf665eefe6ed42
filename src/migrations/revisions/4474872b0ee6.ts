import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'
import { createIndexConcurrently } from './_lib.js'

/** The index is built CONCURRENTLY outside the transaction, as Dify's autocommit_block does. */
export const revision: Revision = {
  revision: '4474872b0ee6',
  downRevision: '2adcbe1f5dfb',
  release: '1.4.2',
  description: 'workflow_draft_varaibles add node_execution_id column, add index for workflow_node_executions',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          createIndexConcurrently('workflow_node_executions', {
            name: 'workflow_node_executions_tenant_id_idx',
            columns: ['tenant_id', 'workflow_id', 'node_id', 'created_at DESC'],
          }),
          ...renderAddColumn(dialect, 'workflow_draft_variables', { name: 'node_execution_id', type: 'uuid' }),
        ],
}
