/** `dify retention clean` under load on PostgreSQL (Dify 1.15.0): ~200 000 node executions; the suite and what it proves: test/support/retention-load.ts. */
import { retentionLoadSuite } from '../../support/retention-load.js'

retentionLoadSuite('postgres', { runs: 4000, nodesPerRun: 50, killRuns: 4000, killBatch: 200 })
