import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/core/errors.js'
import { genCollectionNameById } from '../../../src/dify/collections.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorStore } from '../../../src/vector/store.js'
import { startFakeMilvus, type FakeMilvus } from '../../support/fakes/milvus.js'
import { scratchRedis, type ScratchRedis } from '../../support/scratch.js'
import { difyRecords, vectorStoreContract } from './contract.js'
import { configFromVars } from '../../support/config.js'

/**
 * FAKE server: no Milvus on this machine. test/support/fakes/milvus.ts is a gRPC server built from the milvus-proto
 * v2.6.3 files; it checks requests as the server does and holds state.
 */
function configFor(address: string, extra: Record<string, string> = {}) {
  return configFromVars({
    VECTOR_STORE: 'milvus',
    MILVUS_URI: `http://${address}`,
    MILVUS_USER: 'root',
    MILVUS_PASSWORD: 'Milvus',
    ...extra,
  })
}
const AUTH = { username: 'root', password: 'Milvus' }

async function rawInsert(address: string, req: unknown): Promise<{ status: { error_code: string; reason: string } }> {
  const grpc = await import('@grpc/grpc-js')
  const { milvusPackageDefinition } = await import('../../support/fakes/milvus.js')
  const def = milvusPackageDefinition()
  const Svc = (grpc.loadPackageDefinition(def) as any).milvus.proto.milvus.MilvusService
  const client = new Svc(address, grpc.credentials.createInsecure())
  const md = new grpc.Metadata()
  md.set('authorization', Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64'))
  try {
    return await new Promise((res, rej) => client.Insert(req, md, (e: Error | null, r: any) => (e ? rej(e) : res(r))))
  } finally {
    client.close()
  }
}

const DIFY_FIELDS = (dim: number, hybrid: boolean) => [
  { name: 'metadata', dataType: 'JSON', isPrimaryKey: false, autoId: false, params: {} },
  {
    name: 'page_content',
    dataType: 'VarChar',
    isPrimaryKey: false,
    autoId: false,
    params: { max_length: '65535', ...(hybrid ? { enable_analyzer: 'true' } : {}) },
  },
  { name: 'id', dataType: 'Int64', isPrimaryKey: true, autoId: true, params: {} },
  { name: 'vector', dataType: 'FloatVector', isPrimaryKey: false, autoId: false, params: { dim: String(dim) } },
  ...(hybrid
    ? [{ name: 'sparse_vector', dataType: 'SparseFloatVector', isPrimaryKey: false, autoId: false, params: {} }]
    : []),
]

describe('milvus (fake gRPC server, milvus-proto v2.6.3)', { timeout: 60_000 }, () => {
  let fake: FakeMilvus
  let redis: ScratchRedis
  const ready = (async () => {
    fake = await startFakeMilvus({ auth: AUTH })
    redis = await scratchRedis('vecmilvus')
  })()
  afterAll(async () => {
    await ready
    await fake.close()
    await redis.drop()
  })

  vectorStoreContract('milvus', async () => {
    await ready
    const store = await openVectorStore(configFor(fake.address, { MILVUS_ENABLE_HYBRID_SEARCH: 'false' }), {
      redis: { client: redis.client, keyPrefix: redis.prefix },
    })
    return {
      store,
      redis: { client: redis.client, keyPrefix: redis.prefix },
      newTarget: () => ({ collection: genCollectionNameById(randomUUID()) }),
      expectDifyLayout(layout, t, dim) {
        expect(layout.name).toBe(t.collection) // mixed case, as is
        expect(layout.metric).toBe('ip')
        expect(
          (layout.details.fields as Array<Record<string, unknown>>).map(
            ({ name, dataType, isPrimaryKey, autoId, params }) => ({ name, dataType, isPrimaryKey, autoId, params }),
          ),
        ).toEqual(DIFY_FIELDS(dim, false))
        expect(layout.details.indexes).toEqual([
          {
            field: 'vector',
            params: { index_type: 'HNSW', metric_type: 'IP', params: JSON.stringify({ M: 8, efConstruction: 64 }) },
          },
        ])
        expect(layout.details.consistencyLevel).toBe('Session')
      },
      close: () => store.close(),
    }
  })

  describe('milvus specifics', () => {
    it('MILVUS_SECURE (Dify 1.15.0): TLS verified against MILVUS_SERVER_PEM_PATH with MILVUS_SERVER_NAME; refused without them', async () => {
      const { execFileSync } = await import('node:child_process')
      const { mkdtempSync, readFileSync } = await import('node:fs')
      const { tmpdir } = await import('node:os')
      const { join } = await import('node:path')
      const dir = mkdtempSync(join(tmpdir(), 'milvus-tls-'))
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=milvus.test',
          '-addext',
          'subjectAltName=DNS:milvus.test',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      )
      const tls = await startFakeMilvus({
        auth: AUTH,
        tls: { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) },
      })
      try {
        const secure = {
          MILVUS_SECURE: 'true',
          MILVUS_SERVER_PEM_PATH: join(dir, 'cert.pem'),
          MILVUS_SERVER_NAME: 'milvus.test',
        }
        const store = await openVectorStore(configFor(tls.address, { ...secure, MILVUS_ENABLE_HYBRID_SEARCH: 'false' }))
        try {
          expect((await store.describe()).serverVersion).toMatch(/2\.6/)
          const t = { collection: genCollectionNameById(randomUUID()) }
          await store.ensureCollection(t, 8)
          await store.upsert(t, difyRecords(3, 8))
          expect(await store.count(t)).toBe(3)
        } finally {
          await store.close()
        }
        // plaintext to a TLS server, and TLS without the self-signed certificate: both fail to connect
        for (const extra of [{}, { MILVUS_SECURE: 'true', MILVUS_SERVER_NAME: 'milvus.test' }] as Array<
          Record<string, string>
        >) {
          const bad = await openVectorStore(configFor(tls.address, { ...extra, MILVUS_ENABLE_HYBRID_SEARCH: 'false' }))
          await expect(bad.describe()).rejects.toThrow()
          await bad.close()
        }
      } finally {
        await tls.close()
      }
    })

    let store: VectorStore
    beforeAll(async () => {
      await ready
      store = await openVectorStore(configFor(fake.address))
    })
    afterAll(async () => store?.close())

    it("hybrid search (Dify's default on 2.5+): sparse_vector fed by the BM25 function text_bm25_emb, AUTOINDEX BM25", async () => {
      const t = { collection: genCollectionNameById(randomUUID()) }
      await store.ensureCollection(t, 8)
      const layout = (await store.layout(t))!
      expect(
        (layout.details.fields as Array<Record<string, unknown>>).map(
          ({ name, dataType, isPrimaryKey, autoId, params }) => ({ name, dataType, isPrimaryKey, autoId, params }),
        ),
      ).toEqual(DIFY_FIELDS(8, true))
      expect(layout.details.functions).toEqual([
        { name: 'text_bm25_emb', type: 'BM25', input: ['page_content'], output: ['sparse_vector'] },
      ])
      expect(layout.details.indexes).toContainEqual({
        field: 'sparse_vector',
        params: { index_type: 'AUTOINDEX', metric_type: 'BM25' },
      })
      const recs = difyRecords(5)
      await store.upsert(t, recs)
      await store.upsert(t, recs)
      expect(await store.count(t)).toBe(5)
      const rows = [...fake.collections.get(t.collection)!.rows.values()]
      expect(rows[0]).toEqual({
        id: expect.any(BigInt),
        page_content: recs[0]!.text,
        metadata: recs[0]!.metadata,
        vector: recs[0]!.vector.map(Math.fround),
      })
      expect(rows.every((r) => (r.id as bigint) > 2n ** 53n)).toBe(true)
    })

    it('a write deletes by metadata["doc_id"] first; scans page by primary key', async () => {
      const t = { collection: genCollectionNameById(randomUUID()) }
      const recs = difyRecords(7)
      await store.ensureCollection(t, 8)
      const n = fake.calls.length
      await store.upsert(t, recs)
      const del = fake.calls.slice(n).find((c) => c.method === 'Delete')!
      expect(del.request.expr).toBe(`metadata["doc_id"] in [${recs.map((r) => JSON.stringify(r.docId)).join(', ')}]`)
      const m = fake.calls.length
      const seen: string[] = []
      for await (const b of store.scan(t, { batchSize: 3 })) seen.push(...b.map((r) => r.docId))
      expect(seen.sort()).toEqual(recs.map((r) => r.docId).sort())
      const queries = fake.calls.slice(m).filter((c) => c.method === 'Query')
      expect(queries).toHaveLength(3)
      expect(queries[1]!.request.expr).toMatch(/^id > \d{18}$/)
      expect(fake.calls.filter((c) => c.error && !/collection not found/.test(c.error))).toEqual([])
    })

    it('describe() reports the version; a server without JSON fields (< 2.2) is refused', async () => {
      expect((await store.describe()).serverVersion).toBe('Milvus 2.6.3')
      const old = await startFakeMilvus({ version: 'v2.1.4' })
      const s = await openVectorStore(configFor(old.address, { MILVUS_PASSWORD: '', MILVUS_TOKEN: 'root:Milvus' }))
      try {
        await expect(s.describe()).rejects.toBeInstanceOf(ConfigError)
        await expect(s.exists({ collection: 'x' })).rejects.toThrow(/2\.2 or later/)
      } finally {
        await s.close()
        await old.close()
      }
    })

    it('the fake rejects what Milvus rejects', async () => {
      const t = { collection: genCollectionNameById(randomUUID()) }
      await store.ensureCollection(t, 8)
      const [r] = difyRecords(1)
      const { MilvusClient } = await import('@zilliz/milvus2-sdk-node')
      const c = new MilvusClient({ address: fake.address, username: 'root', password: 'Milvus', logLevel: 'error' })
      try {
        // the SDK refuses an auto-id key itself, so this one goes over raw gRPC
        const bad1 = await rawInsert(fake.address, {
          collection_name: t.collection,
          num_rows: 1,
          fields_data: [
            { type: 'Int64', field_name: 'id', scalars: { long_data: { data: ['1'] } } },
            { type: 'VarChar', field_name: 'page_content', scalars: { string_data: { data: ['x'] } } },
            { type: 'JSON', field_name: 'metadata', scalars: { json_data: { data: [Buffer.from('{}')] } } },
            { type: 'FloatVector', field_name: 'vector', vectors: { dim: 8, float_vector: { data: r!.vector } } },
          ],
        })
        expect(bad1.status.reason).toMatch(/auto-generated/)
        const bad2 = await c.query({
          collection_name: t.collection,
          filter: 'id >',
          output_fields: ['id'],
          limit: 1,
        } as never)
        expect(bad2.status.error_code).not.toBe('Success')
        const bad3 = await c.query({
          collection_name: t.collection,
          filter: 'id > 0',
          output_fields: ['id'],
          limit: 20000,
        } as never)
        expect(bad3.status.error_code).not.toBe('Success')
        const bad4 = await c.search({
          collection_name: t.collection,
          data: [[1, 2]],
          anns_field: 'vector',
          limit: 1,
        } as never)
        expect(bad4.status.error_code).not.toBe('Success')
      } finally {
        await c.closeConnection()
      }
      const wrong = new (await import('@zilliz/milvus2-sdk-node')).MilvusClient({
        address: fake.address,
        username: 'root',
        password: 'nope',
        logLevel: 'error',
      })
      try {
        expect((await wrong.hasCollection({ collection_name: t.collection })).value).toBe(false)
      } finally {
        await wrong.closeConnection()
      }
    })
  })
})
