import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/core/errors.js'
import { parseConfig } from '../../../src/config/schema.js'
import {
  chromaSettings,
  elasticsearchSettings,
  milvusHybrid,
  milvusSettings,
  opensearchSettings,
  pgvectorSettings,
  qdrantSettings,
  safeUrl,
} from '../../../src/vector/config.js'
import { isSupportedStore, openVectorStore, supportedStores } from '../../../src/vector/index.js'
import { rawVars } from '../../support/config.js'

describe('VECTOR_STORE → module', () => {
  it('knows the implemented stores and refuses others with exit 4', async () => {
    expect(supportedStores().sort()).toEqual([
      'chroma',
      'elasticsearch',
      'milvus',
      'opensearch',
      'pgvector',
      'qdrant',
      'weaviate',
    ])
    expect(isSupportedStore('tidb_vector')).toBe(false)
    await expect(openVectorStore(parseConfig(rawVars({ VECTOR_STORE: 'tidb_vector' })))).rejects.toBeInstanceOf(
      ConfigError,
    )
    await expect(openVectorStore(parseConfig(rawVars({ VECTOR_STORE: 'tidb_vector' })))).rejects.toMatchObject({
      exitCode: 4,
    })
  })

  it("reads each store's Dify variables with Dify's defaults", () => {
    expect(pgvectorSettings(rawVars({}))).toEqual({
      host: 'localhost',
      port: 5433,
      user: 'postgres',
      password: '',
      database: 'postgres',
    })
    expect(chromaSettings(rawVars({ CHROMA_HOST: 'c' }))).toMatchObject({
      host: 'c',
      port: 8000,
      tenant: 'default_tenant',
      database: 'default_database',
    })
    expect(() => chromaSettings(rawVars({}))).toThrow(ConfigError)
    expect(qdrantSettings(rawVars({ QDRANT_URL: 'http://q:6333' }))).toEqual({
      url: 'http://q:6333',
      apiKey: undefined,
      timeoutMs: 20000,
    })
    expect(() => qdrantSettings(rawVars({ QDRANT_URL: 'path:storage' }))).toThrow(/local Qdrant directory/)
    expect(() => pgvectorSettings(rawVars({ PGVECTOR_PORT: 'x' }))).toThrow(ConfigError)
    expect(safeUrl('http://u:secret@h:1/x')).toBe('http://h:1/x')
  })

  it('Elasticsearch, OpenSearch and Milvus settings follow Dify', () => {
    // Dify's factory: host "elasticsearch", port 9200, elastic/elastic; a host with a scheme keeps it
    expect(elasticsearchSettings(rawVars({}))).toMatchObject({
      node: 'http://elasticsearch:9200',
      username: 'elastic',
      password: 'elastic',
      verifyCerts: false,
    })
    expect(
      elasticsearchSettings(rawVars({ ELASTICSEARCH_HOST: 'https://es.example', ELASTICSEARCH_PORT: '443' })).node,
    ).toBe('https://es.example:443')
    expect(
      elasticsearchSettings(
        rawVars({
          ELASTICSEARCH_USE_CLOUD: 'true',
          ELASTICSEARCH_CLOUD_URL: 'https://x.es.io:9243/path',
          ELASTICSEARCH_API_KEY: 'k',
        }),
      ),
    ).toMatchObject({ node: 'https://x.es.io:9243', apiKey: 'k' })
    expect(() =>
      elasticsearchSettings(rawVars({ ELASTICSEARCH_USE_CLOUD: 'true', ELASTICSEARCH_CLOUD_URL: 'https://x' })),
    ).toThrow(/API_KEY/)
    expect(
      opensearchSettings(rawVars({ OPENSEARCH_HOST: 'os', OPENSEARCH_SECURE: 'true', OPENSEARCH_USER: 'admin' })),
    ).toMatchObject({ node: 'https://os:9200', username: 'admin' })
    expect(() => opensearchSettings(rawVars({}))).toThrow(ConfigError)
    // booleans as the rest of the configuration (and pydantic) read them: y and t are true, junk is an error, empty is
    // the default
    for (const yes of ['t', 'Y', 'ON', ' true '])
      expect(opensearchSettings(rawVars({ OPENSEARCH_HOST: 'os', OPENSEARCH_SECURE: yes })).node).toBe(
        'https://os:9200',
      )
    expect(opensearchSettings(rawVars({ OPENSEARCH_HOST: 'os', OPENSEARCH_VERIFY_CERTS: '' })).verifyCerts).toBe(true)
    expect(opensearchSettings(rawVars({ OPENSEARCH_HOST: 'os', OPENSEARCH_VERIFY_CERTS: 'f' })).verifyCerts).toBe(false)
    expect(() => opensearchSettings(rawVars({ OPENSEARCH_HOST: 'os', OPENSEARCH_SECURE: 'maybe' }))).toThrow(
      /OPENSEARCH_SECURE="maybe" is not valid: it is not a boolean/,
    )
    expect(() =>
      opensearchSettings(rawVars({ OPENSEARCH_HOST: 'os', OPENSEARCH_AUTH_METHOD: 'aws_managed_iam' })),
    ).toThrow(/not supported/)
    expect(milvusSettings(rawVars({ MILVUS_USER: 'root', MILVUS_PASSWORD: 'Milvus' }))).toEqual({
      uri: 'http://127.0.0.1:19530',
      token: undefined,
      user: 'root',
      password: 'Milvus',
      database: 'default',
    })
    expect(() => milvusSettings(rawVars({}))).toThrow(ConfigError)
    expect(milvusHybrid(rawVars({})).enabled).toBe(true)
    expect(milvusHybrid(rawVars({ MILVUS_ENABLE_HYBRID_SEARCH: 'false' })).enabled).toBe(false)
  })
})
