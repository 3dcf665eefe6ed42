import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

export const revision: Revision = {
  revision: 'f5e8a9c0d2b3',
  downRevision: 'f6a7b8c9d012',
  release: '1.15.0',
  description: 'add learn dify flag to recommended apps',
  statements: (dialect) =>
    renderAddColumn(dialect, 'recommended_apps', {
      name: 'is_learn_dify',
      type: 'boolean',
      notNull: true,
      default: 'false',
    }),
}
