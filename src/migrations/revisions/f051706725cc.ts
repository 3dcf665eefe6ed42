import type { Revision } from '../types.js'
import { createFromBaseline } from './_lib.js'

export const revision: Revision = {
  revision: 'f051706725cc',
  downRevision: 'ee79d9b1c156',
  release: '1.0.1',
  description: 'add_rate_limit_logs',
  mysql: false,
  statements: (dialect) => (dialect === 'mysql' ? [] : createFromBaseline(dialect, 'rate_limit_logs')),
}
