import type { Revision } from '../types.js'
import { ddl, stmt } from '../compile.js'
import { renderIndex } from '../baseline/render.js'

export const revision: Revision = {
  revision: '288345cd01d1',
  downRevision: '3334862ee907',
  release: '1.12.0',
  description: 'change workflow node execution workflow_run index',
  statements: (dialect) => {
    const table = 'workflow_node_executions'
    const drop = ddl(dialect).schema.dropIndex('workflow_node_execution_workflow_run_idx')
    return [
      stmt(dialect, dialect === 'mysql' ? drop.on(table) : drop, { table }),
      ...renderIndex(dialect, table, {
        name: 'workflow_node_execution_workflow_run_id_idx',
        columns: ['workflow_run_id'],
      }),
    ]
  },
}
