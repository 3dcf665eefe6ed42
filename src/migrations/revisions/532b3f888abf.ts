import type { Revision } from '../types.js'
import { setDefault } from './_lib.js'

export const revision: Revision = {
  revision: '532b3f888abf',
  downRevision: '8bcc02c9bd07',
  release: '1.7.2',
  description: 'manual dataset field update',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql' ? [] : [setDefault(dialect, 'tidb_auth_bindings', 'status', "'CREATING'::character varying")],
}
