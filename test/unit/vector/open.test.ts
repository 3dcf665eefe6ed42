import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/cli/errors.js'
import { parseConfig } from '../../../src/config/schema.js'
import { chromaSettings, pgvectorSettings, qdrantSettings, safeUrl } from '../../../src/vector/config.js'
import { isSupportedStore, openVectorStore, supportedStores } from '../../../src/vector/index.js'

const raw = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, { value: v, source: 'environment' as const }]))

describe('VECTOR_STORE → module', () => {
  it('knows the implemented stores and refuses others with exit 4', async () => {
    expect(supportedStores().sort()).toEqual(['chroma', 'pgvector', 'qdrant', 'weaviate'])
    expect(isSupportedStore('milvus')).toBe(false)
    await expect(openVectorStore(parseConfig(raw({ VECTOR_STORE: 'milvus' })))).rejects.toBeInstanceOf(ConfigError)
    await expect(openVectorStore(parseConfig(raw({ VECTOR_STORE: 'milvus' })))).rejects.toMatchObject({ exitCode: 4 })
  })

  it("reads each store's Dify variables with Dify's defaults", () => {
    expect(pgvectorSettings(raw({}))).toEqual({ host: 'localhost', port: 5433, user: 'postgres', password: '', database: 'postgres' })
    expect(chromaSettings(raw({ CHROMA_HOST: 'c' }))).toMatchObject({ host: 'c', port: 8000, tenant: 'default_tenant', database: 'default_database' })
    expect(() => chromaSettings(raw({}))).toThrow(ConfigError)
    expect(qdrantSettings(raw({ QDRANT_URL: 'http://q:6333' }))).toEqual({ url: 'http://q:6333', apiKey: undefined, timeoutMs: 20000 })
    expect(() => qdrantSettings(raw({ QDRANT_URL: 'path:storage' }))).toThrow(/local Qdrant directory/)
    expect(() => pgvectorSettings(raw({ PGVECTOR_PORT: 'x' }))).toThrow(ConfigError)
    expect(safeUrl('http://u:secret@h:1/x')).toBe('http://h:1/x')
  })
})
