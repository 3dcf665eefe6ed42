import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

export const revision: Revision = {
  revision: 'd9e8f7a6b5c4',
  downRevision: 'c8f4a6b2d3e1',
  release: '1.15.0',
  description: 'add cloud only flag to recommended apps',
  statements: (dialect) =>
    renderAddColumn(dialect, 'recommended_apps', {
      name: 'is_cloud_only',
      type: 'boolean',
      notNull: true,
      default: 'false',
    }),
}
