/**
 * `dify retention clean` under load on MariaDB (Dify 1.15.0): ~200 000 node executions for the concurrent writer,
 * 50 000 for the SIGKILL + rerun + restore (batches of 50 runs); the suite and what it proves: test/support/retention-load.ts.
 */
import { retentionLoadSuite } from '../../support/retention-load.js'

retentionLoadSuite('mysql', { runs: 4000, nodesPerRun: 50, killRuns: 1000, killBatch: 50 })
