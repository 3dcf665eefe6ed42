import type { Revision } from '../types.js'
import { createFromBaseline } from './_lib.js'

export const revision: Revision = {
  revision: '8d289573e1da',
  downRevision: '0e154742a5fa',
  release: '1.8.1',
  description: 'add_oauth_provider_apps',
  mysql: false,
  statements: (dialect) => (dialect === 'mysql' ? [] : createFromBaseline(dialect, 'oauth_provider_apps')),
}
