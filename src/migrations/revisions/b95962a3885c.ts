import type { Revision } from '../types.js'
import { renderIndex } from '../baseline/render.js'

export const revision: Revision = {
  revision: 'b95962a3885c',
  downRevision: '8d289573e1da',
  release: '1.8.1',
  description: 'chore: add workflow app log run id index',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : renderIndex(dialect, 'workflow_app_logs', {
          name: 'workflow_app_log_workflow_run_id_idx',
          columns: ['workflow_run_id'],
        }),
}
