import type { Revision } from '../types.js'
import { renderFunction } from '../baseline/render.js'

/** Our own uuidv7() / uuidv7_boundary() (render.ts; same names, signatures and results as Dify's), PG only. */
export const revision: Revision = {
  revision: '1c9ba48be8e4',
  downRevision: '58eb7bdb93fe',
  release: '1.7.0',
  description: 'add uuidv7 function in SQL',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql' ? [] : [...renderFunction('uuidv7'), ...renderFunction('uuidv7_boundary')],
}
