import type { Revision } from '../types.js'
import { createFromBaseline } from './_lib.js'

export const revision: Revision = {
  revision: '03f8dcbc611e',
  downRevision: 'ae662b25d9bc',
  release: '1.10.0',
  description: 'add WorkflowPause model',
  mysql: false,
  statements: (dialect) => (dialect === 'mysql' ? [] : createFromBaseline(dialect, 'workflow_pauses')),
}
