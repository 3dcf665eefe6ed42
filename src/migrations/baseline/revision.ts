import type { Revision } from '../types.js'
import { BASELINE_REVISION, BASELINE_SCHEMA } from './schema.js'
import { renderSchema } from './render.js'

/**
 * Baseline: Dify's whole schema at d57accd375ae (head of 1.11.0 / 1.11.1), created in one step on an empty
 * database. Everything except alembic_version, which the runner creates (see types.ts).
 */
export const revision: Revision = {
  revision: BASELINE_REVISION,
  downRevision: null,
  release: '1.11.0',
  description: 'support-multi-modal',
  baseline: true,
  statements: (dialect) => renderSchema(dialect, BASELINE_SCHEMA),
}
