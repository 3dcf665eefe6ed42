import { scratchPg } from '../../support/scratch.js'
import { loadOracleSchema } from '../../support/dify-schema.js'
import { accountSuite } from './suite.js'

accountSuite({
  kind: 'postgres',
  async create() {
    const s = await scratchPg('acct')
    loadOracleSchema(s.name, '788d3099ae3a')
    return s
  },
})
