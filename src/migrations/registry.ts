import type { Revision } from './types.js'
import { usePrecompiled } from './compiled.js'
import { revision as baseline } from './baseline/revision.js'
import { revision as r_4413929e1ec2 } from './revisions/4413929e1ec2.js'
import { revision as r_5511c782ee4c } from './revisions/5511c782ee4c.js'
import { revision as r_ee79d9b1c156 } from './revisions/ee79d9b1c156.js'
import { revision as r_f051706725cc } from './revisions/f051706725cc.js'
import { revision as r_d20049ed0af6 } from './revisions/d20049ed0af6.js'
import { revision as r_6a9f914f656c } from './revisions/6a9f914f656c.js'
import { revision as r_d28f2004b072 } from './revisions/d28f2004b072.js'
import { revision as r_2adcbe1f5dfb } from './revisions/2adcbe1f5dfb.js'
import { revision as r_4474872b0ee6 } from './revisions/4474872b0ee6.js'
import { revision as r_0ab65e1cc7fa } from './revisions/0ab65e1cc7fa.js'
import { revision as r_58eb7bdb93fe } from './revisions/58eb7bdb93fe.js'
import { revision as r_1c9ba48be8e4 } from './revisions/1c9ba48be8e4.js'
import { revision as r_71f5020c6470 } from './revisions/71f5020c6470.js'
import { revision as r_1a83934ad6d1 } from './revisions/1a83934ad6d1.js'
import { revision as r_375fe79ead14 } from './revisions/375fe79ead14.js'
import { revision as r_8bcc02c9bd07 } from './revisions/8bcc02c9bd07.js'
import { revision as r_532b3f888abf } from './revisions/532b3f888abf.js'
import { revision as r_fa8b0fa6f407 } from './revisions/fa8b0fa6f407.js'
import { revision as r_e8446f481c1e } from './revisions/e8446f481c1e.js'
import { revision as r_0e154742a5fa } from './revisions/0e154742a5fa.js'
import { revision as r_8d289573e1da } from './revisions/8d289573e1da.js'
import { revision as r_b95962a3885c } from './revisions/b95962a3885c.js'
import { revision as r_c20211f18133 } from './revisions/c20211f18133.js'
import { revision as r_cf7c38a32b2d } from './revisions/cf7c38a32b2d.js'
import { revision as r_68519ad5cd18 } from './revisions/68519ad5cd18.js'
import { revision as r_d98acf217d43 } from './revisions/d98acf217d43.js'
import { revision as r_ae662b25d9bc } from './revisions/ae662b25d9bc.js'
import { revision as r_03f8dcbc611e } from './revisions/03f8dcbc611e.js'
import { revision as r_669ffd70119c } from './revisions/669ffd70119c.js'
import { revision as r_09cfdda155d1 } from './revisions/09cfdda155d1.js'
import { revision as r_7bb281b7a422 } from './revisions/7bb281b7a422.js'
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
 * The baseline: an EMPTY database gets Dify's whole schema at d57accd375ae in one step (baseline/schema.ts), then
 * the steps after d57accd375ae. The same revision id is also a step (from 7bb281b7a422) in REVISION_LIST.
 */
export const BASELINE: Revision = baseline

/** The oldest revision a database may be at for `upgrade-db` (the down revision of the first step): Dify 1.0.0's head. */
export const STEPS_FROM = '08ec4f75af5e'
/** On MySQL: Dify's first MySQL release 1.10.1 (steps before it are PostgreSQL only, `mysql: false`). */
export const MYSQL_STEPS_FROM = '09cfdda155d1'

/**
 * Every STEP dify-ops can apply, in Dify's chain order (the order is checked against the revision graph by a unit
 * test, never taken from file names): from the first revision after STEPS_FROM to the CLI's head. Filled by
 * src/migrations/revisions/*.
 */
export const REVISION_LIST: Revision[] = [
  r_4413929e1ec2,
  r_5511c782ee4c,
  r_ee79d9b1c156,
  r_f051706725cc,
  r_d20049ed0af6,
  r_6a9f914f656c,
  r_d28f2004b072,
  r_2adcbe1f5dfb,
  r_4474872b0ee6,
  r_0ab65e1cc7fa,
  r_58eb7bdb93fe,
  r_1c9ba48be8e4,
  r_71f5020c6470,
  r_1a83934ad6d1,
  r_375fe79ead14,
  r_8bcc02c9bd07,
  r_532b3f888abf,
  r_fa8b0fa6f407,
  r_e8446f481c1e,
  r_0e154742a5fa,
  r_8d289573e1da,
  r_b95962a3885c,
  r_c20211f18133,
  r_cf7c38a32b2d,
  r_68519ad5cd18,
  r_d98acf217d43,
  r_ae662b25d9bc,
  r_03f8dcbc611e,
  r_669ffd70119c,
  r_09cfdda155d1,
  r_7bb281b7a422,
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

// statements() reads the SQL compiled at build time where there is one (compiled.ts)
usePrecompiled([BASELINE, ...REVISION_LIST])
