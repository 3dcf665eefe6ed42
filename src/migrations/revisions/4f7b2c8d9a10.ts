import type { Revision } from '../types.js'
import { update } from '../ops.js'

/** Data only: end users of type 'service_api' become 'service-api' (both dialects). */
export const revision: Revision = {
  revision: '4f7b2c8d9a10',
  downRevision: 'a7c4e9d2f681',
  release: '1.15.0',
  description: 'normalize legacy end user type',
  statements: (dialect) => [update(dialect, 'end_users', { type: "'service-api'" }, "type = 'service_api'")],
}
