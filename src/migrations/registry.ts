import type { Revision } from './types.js'
import { revision as r_d57accd375ae } from './revisions/d57accd375ae.js'
import { revision as r_03ea244985ce } from './revisions/03ea244985ce.js'
import { revision as r_7df29de0f6be } from './revisions/7df29de0f6be.js'
import { revision as r_905527cc8fd3 } from './revisions/905527cc8fd3.js'
import { revision as r_3334862ee907 } from './revisions/3334862ee907.js'
import { revision as r_288345cd01d1 } from './revisions/288345cd01d1.js'
import { revision as r_9e6fa5cbcd80 } from './revisions/9e6fa5cbcd80.js'
import { revision as r_f9f6d18a37f9 } from './revisions/f9f6d18a37f9.js'
import { revision as r_9d77545f524e } from './revisions/9d77545f524e.js'
import { revision as r_788d3099ae3a } from './revisions/788d3099ae3a.js'

/**
 * Every revision dify-ops can apply, in Dify's chain order (the order is checked against the revision graph by
 * a unit test, never taken from file names). Filled by src/migrations/revisions/*.
 */
export const REVISION_LIST: Revision[] = [
  r_d57accd375ae,
  r_03ea244985ce,
  r_7df29de0f6be,
  r_905527cc8fd3,
  r_3334862ee907,
  r_288345cd01d1,
  r_9e6fa5cbcd80,
  r_f9f6d18a37f9,
  r_9d77545f524e,
  r_788d3099ae3a,
]
