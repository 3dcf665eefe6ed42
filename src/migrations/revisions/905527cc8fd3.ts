import type { Revision } from '../types.js'
import { renderIndex } from '../baseline/render.js'

export const revision: Revision = {
  revision: '905527cc8fd3',
  downRevision: '7df29de0f6be',
  release: '1.11.3',
  description: 'add workflow_run_created_at_id_idx',
  statements: (dialect) =>
    renderIndex(dialect, 'workflow_runs', { name: 'workflow_run_created_at_id_idx', columns: ['created_at', 'id'] }),
}
