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
import { revision as r_e8c3b3c46151 } from './revisions/e8c3b3c46151.js'
import { revision as r_c3df22613c99 } from './revisions/c3df22613c99.js'
import { revision as r_f55813ffe2c8 } from './revisions/f55813ffe2c8.js'
import { revision as r_fce013ca180e } from './revisions/fce013ca180e.js'
import { revision as r_e288952f2994 } from './revisions/e288952f2994.js'
import { revision as r_0ec65df55790 } from './revisions/0ec65df55790.js'
import { revision as r_6b5f9f8b1a2c } from './revisions/6b5f9f8b1a2c.js'
import { revision as r_8574b23a38fd } from './revisions/8574b23a38fd.js'
import { revision as r_227822d22895 } from './revisions/227822d22895.js'
import { revision as r_a4f2d8c9b731 } from './revisions/a4f2d8c9b731.js'
import { revision as r_c6a9f4b12d3e } from './revisions/c6a9f4b12d3e.js'
import { revision as r_f8b6b7e9c421 } from './revisions/f8b6b7e9c421.js'
import { revision as r_97e2e1a644e8 } from './revisions/97e2e1a644e8.js'
import { revision as r_d4a5e1f3c9b7 } from './revisions/d4a5e1f3c9b7.js'
import { revision as r_7885bd53f9a9 } from './revisions/7885bd53f9a9.js'
import { revision as r_a1b2c3d4e5f6 } from './revisions/a1b2c3d4e5f6.js'
import { revision as r_121e7346074d } from './revisions/121e7346074d.js'
import { revision as r_8d4c2a1b9f03 } from './revisions/8d4c2a1b9f03.js'
import { revision as r_2b3c4d5e6f70 } from './revisions/2b3c4d5e6f70.js'
import { revision as r_3df4dbcc1e21 } from './revisions/3df4dbcc1e21.js'
import { revision as r_7bad07dc267d } from './revisions/7bad07dc267d.js'
import { revision as r_0b2f2c8a9d1e } from './revisions/0b2f2c8a9d1e.js'
import { revision as r_9f4b7c2d1a80 } from './revisions/9f4b7c2d1a80.js'
import { revision as r_b7c2d9e8a1f4 } from './revisions/b7c2d9e8a1f4.js'
import { revision as r_f6a7b8c9d012 } from './revisions/f6a7b8c9d012.js'
import { revision as r_f5e8a9c0d2b3 } from './revisions/f5e8a9c0d2b3.js'
import { revision as r_c4d5e6f7a8b9 } from './revisions/c4d5e6f7a8b9.js'
import { revision as r_c167a72a00eb } from './revisions/c167a72a00eb.js'
import { revision as r_d2f1a4b8c3e0 } from './revisions/d2f1a4b8c3e0.js'
import { revision as r_a7c4e9d2f681 } from './revisions/a7c4e9d2f681.js'
import { revision as r_4f7b2c8d9a10 } from './revisions/4f7b2c8d9a10.js'
import { revision as r_b2515f9d4c2a } from './revisions/b2515f9d4c2a.js'
import { revision as r_c8f4a6b2d3e1 } from './revisions/c8f4a6b2d3e1.js'
import { revision as r_d9e8f7a6b5c4 } from './revisions/d9e8f7a6b5c4.js'

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
  r_e8c3b3c46151,
  r_c3df22613c99,
  r_f55813ffe2c8,
  r_fce013ca180e,
  r_e288952f2994,
  r_0ec65df55790,
  r_6b5f9f8b1a2c,
  r_8574b23a38fd,
  r_227822d22895,
  r_a4f2d8c9b731,
  r_c6a9f4b12d3e,
  r_f8b6b7e9c421,
  r_97e2e1a644e8,
  r_d4a5e1f3c9b7,
  r_7885bd53f9a9,
  r_a1b2c3d4e5f6,
  r_121e7346074d,
  r_8d4c2a1b9f03,
  r_2b3c4d5e6f70,
  r_3df4dbcc1e21,
  r_7bad07dc267d,
  r_0b2f2c8a9d1e,
  r_9f4b7c2d1a80,
  r_b7c2d9e8a1f4,
  r_f6a7b8c9d012,
  r_f5e8a9c0d2b3,
  r_c4d5e6f7a8b9,
  r_c167a72a00eb,
  r_d2f1a4b8c3e0,
  r_a7c4e9d2f681,
  r_4f7b2c8d9a10,
  r_b2515f9d4c2a,
  r_c8f4a6b2d3e1,
  r_d9e8f7a6b5c4,
]
