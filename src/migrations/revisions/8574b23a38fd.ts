import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

export const revision: Revision = {
  revision: '8574b23a38fd',
  downRevision: '6b5f9f8b1a2c',
  release: '1.14.0',
  description: 'add qdrant_endpoint to tidb_auth_bindings',
  statements: (dialect) =>
    renderAddColumn(dialect, 'tidb_auth_bindings', { name: 'qdrant_endpoint', type: 'varchar(512)' }),
}
