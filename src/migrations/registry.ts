import type { Revision } from './types.js'

/**
 * Every revision dify-ops can apply, in Dify's chain order (the order is checked against the revision graph by
 * a unit test, never taken from file names). Filled by src/migrations/revisions/*.
 */
export const REVISION_LIST: Revision[] = []
