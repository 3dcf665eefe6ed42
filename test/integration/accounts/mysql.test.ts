import { scratchMysql } from '../../support/scratch.js'
import { createDifySchema, openScratchDb } from '../../support/dify-schema.js'
import { accountSuite } from './suite.js'

accountSuite({
  kind: 'mysql',
  async create() {
    const s = await scratchMysql('acct')
    const db = await openScratchDb(s.env)
    try {
      await createDifySchema(db, '788d3099ae3a')
    } finally {
      await db.close()
    }
    return s
  },
})
