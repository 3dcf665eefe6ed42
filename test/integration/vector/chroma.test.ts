import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect } from 'vitest'
import { genCollectionNameById } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import { scratchRedis, type ScratchRedis } from '../../support/scratch.js'
import { vectorStoreContract } from './contract.js'
import { configFromVars } from '../../support/config.js'

/** Real server: `chroma run` from the npm bindings 1.0.5 (scripts/services/chroma.sh) on 127.0.0.1:8011. */
const CHROMA = { host: '127.0.0.1', port: Number(process.env.CHROMA_TEST_PORT ?? 8011) }
const available = await fetch(`http://${CHROMA.host}:${CHROMA.port}/api/v2/heartbeat`).then(
  (r) => r.ok,
  () => false,
)
if (!available)
  console.warn(`SKIPPED: no Chroma server on ${CHROMA.host}:${CHROMA.port}; run scripts/services/chroma.sh`)

describe.skipIf(!available)('chroma (real server)', () => {
  let redis: ScratchRedis
  afterAll(async () => {
    await redis?.drop()
  })

  vectorStoreContract('chroma', async () => {
    redis = await scratchRedis('vecchroma')
    const config = configFromVars({
      VECTOR_STORE: 'chroma',
      CHROMA_HOST: CHROMA.host,
      CHROMA_PORT: String(CHROMA.port),
    })
    const store = await openVectorStore(config, { redis: { client: redis.client, keyPrefix: redis.prefix } })
    return {
      store,
      redis: { client: redis.client, keyPrefix: redis.prefix },
      // vdb-migrate stores the lower-cased name for chroma (class_prefix), the module lower-cases again
      newTarget: () => ({ collection: genCollectionNameById(randomUUID()).toLowerCase() }),
      expectDifyLayout(layout, t) {
        expect(layout.name).toBe(t.collection.toLowerCase())
        expect(layout.name).toMatch(/^vector_index_[0-9a-f_]{36}_node$/)
        expect(layout.metric).toBe('l2')
        expect(layout.details.metadata).toBeNull() // Dify passes no collection metadata
      },
      close: () => store.close(),
    }
  })
})
