import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

/** `sa.JSON`: JSON on both dialects. */
export const revision: Revision = {
  revision: 'a4f2d8c9b731',
  downRevision: '227822d22895',
  release: '1.14.1',
  description: 'add recommended app categories',
  statements: (dialect) => renderAddColumn(dialect, 'recommended_apps', { name: 'categories', type: 'json' }),
}
