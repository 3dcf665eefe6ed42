import type { Revision } from '../types.js'
import { dropDefault } from '../ops.js'

/**
 * Drops the `uuid_generate_v4()` default that 1.12.x's f9f6d18a37f9 gave three tables' `id` (1.13.0's own file of
 * f9f6d18a37f9 no longer creates it). Same statements on MySQL (a no-op there: the column has no default).
 */
export const revision: Revision = {
  revision: 'c3df22613c99',
  downRevision: 'e8c3b3c46151',
  release: '1.13.0',
  description: 'drop server_default for app trail related tables',
  statements: (dialect) =>
    ['account_trial_app_records', 'exporle_banners', 'trial_apps'].map((t) => dropDefault(dialect, t, 'id')),
}
