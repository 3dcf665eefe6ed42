import type { Revision } from '../types.js'
import { createFromBaseline } from './_lib.js'

export const revision: Revision = {
  revision: '7bb281b7a422',
  downRevision: '09cfdda155d1',
  release: '1.11.0',
  description: 'Add workflow_pause_reasons table',
  statements: (dialect) => createFromBaseline(dialect, 'workflow_pause_reasons'),
}
