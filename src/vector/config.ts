import type { RawValue } from '../config/load.js'
import { parseBoolText } from '../config/schema.js'
import { ConfigError } from '../core/errors.js'
import { redactUrl } from '../core/redact.js'

/** Store settings read from Dify's own variables (dify-vector-stores.md §4 "Env"), never from process.env. */
type Raw = Map<string, RawValue>

const str = (raw: Raw, name: string): string | undefined => {
  const v = raw.get(name)?.value
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

function port(raw: Raw, name: string, def: number): number {
  const v = str(raw, name)
  if (v === undefined) return def
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ConfigError(`${name}=${JSON.stringify(v)} is not a valid port.`, {
      hint: `Set ${name} to a number from 1 to 65535.`,
    })
  }
  return n
}

export interface PgvectorSettings {
  host: string
  port: number
  user: string
  password: string
  database: string
}
export interface ChromaSettings {
  host: string
  port: number
  tenant: string
  database: string
  authProvider?: string
  authCredentials?: string
}
export interface QdrantSettings {
  url: string
  apiKey?: string
  timeoutMs: number
}
export interface WeaviateSettings {
  endpoint: string
  apiKey?: string
  /** WEAVIATE_TOKENIZATION: the text property's tokenization (Dify's default word) */ tokenization?: string
}

export function pgvectorSettings(raw: Raw): PgvectorSettings {
  return {
    host: str(raw, 'PGVECTOR_HOST') ?? 'localhost',
    port: port(raw, 'PGVECTOR_PORT', 5433),
    user: str(raw, 'PGVECTOR_USER') ?? 'postgres',
    password: raw.get('PGVECTOR_PASSWORD')?.value ?? '',
    database: str(raw, 'PGVECTOR_DATABASE') ?? 'postgres',
  }
}

export function chromaSettings(raw: Raw): ChromaSettings {
  const host = str(raw, 'CHROMA_HOST')
  if (!host)
    throw new ConfigError('CHROMA_HOST is not set.', {
      hint: 'Set CHROMA_HOST (and CHROMA_PORT) as in the dify-api container.',
    })
  return {
    host,
    port: port(raw, 'CHROMA_PORT', 8000),
    tenant: str(raw, 'CHROMA_TENANT') ?? 'default_tenant',
    database: str(raw, 'CHROMA_DATABASE') ?? 'default_database',
    authProvider: str(raw, 'CHROMA_AUTH_PROVIDER'),
    authCredentials: raw.get('CHROMA_AUTH_CREDENTIALS')?.value || undefined,
  }
}

export function qdrantSettings(raw: Raw): QdrantSettings {
  const url = str(raw, 'QDRANT_URL')
  if (!url)
    throw new ConfigError('QDRANT_URL is not set.', {
      hint: 'Set QDRANT_URL as in the dify-api container, e.g. http://qdrant:6333.',
    })
  if (url.startsWith('path:')) {
    throw new ConfigError(
      'QDRANT_URL points to a local Qdrant directory (path:…), which only the Python client can open.',
      {
        hint: 'Point QDRANT_URL at a Qdrant server (http://host:6333).',
      },
    )
  }
  const t = Number(str(raw, 'QDRANT_CLIENT_TIMEOUT') ?? '20')
  return {
    url,
    apiKey: raw.get('QDRANT_API_KEY')?.value || undefined,
    timeoutMs: (Number.isFinite(t) && t > 0 ? t : 20) * 1000,
  }
}

export function weaviateSettings(raw: Raw): WeaviateSettings {
  const endpoint = str(raw, 'WEAVIATE_ENDPOINT')
  if (!endpoint)
    throw new ConfigError('WEAVIATE_ENDPOINT is not set.', {
      hint: 'Set WEAVIATE_ENDPOINT as in the dify-api container, e.g. http://weaviate:8080.',
    })
  return {
    endpoint: endpoint.replace(/\/+$/, ''),
    apiKey: raw.get('WEAVIATE_API_KEY')?.value || undefined,
    tokenization: raw.get('WEAVIATE_TOKENIZATION')?.value || undefined,
  }
}

/** "host:port" style location without credentials, for messages. */
export function safeUrl(u: string): string {
  try {
    const p = new URL(u)
    p.username = ''
    p.password = ''
    return p.toString().replace(/\/$/, '')
  } catch {
    return redactUrl(u)
  }
}

/** unset or empty: the default; otherwise read as the rest of the configuration reads booleans (y and t are true) */
const bool = (raw: Raw, name: string, def: boolean): boolean => {
  const v = str(raw, name)
  return v === undefined ? def : parseBoolText(name, v)
}

/** "http://host:port" the way Dify builds it: a host with a scheme keeps it, a bare host gets http:// */
function hostUrl(host: string, p: number): string {
  const scheme = /^(https?):\/\//i.exec(host)
  return scheme ? `${host.replace(/\/+$/, '')}:${p}` : `http://${host}:${p}`
}

export interface ElasticsearchSettings {
  node: string
  username?: string
  password?: string
  apiKey?: string
  caCerts?: string
  verifyCerts: boolean
  requestTimeoutMs: number
}

/** Dify's ElasticSearchVectorFactory: ELASTICSEARCH_USE_CLOUD + _CLOUD_URL + _API_KEY, else host/port/basic auth. */
export function elasticsearchSettings(raw: Raw): ElasticsearchSettings {
  const common = {
    caCerts: str(raw, 'ELASTICSEARCH_CA_CERTS'),
    verifyCerts: bool(raw, 'ELASTICSEARCH_VERIFY_CERTS', false),
    requestTimeoutMs: Number(str(raw, 'ELASTICSEARCH_REQUEST_TIMEOUT') ?? '100000') || 100000,
  }
  const cloudUrl = str(raw, 'ELASTICSEARCH_CLOUD_URL')
  if (bool(raw, 'ELASTICSEARCH_USE_CLOUD', false) && cloudUrl) {
    const apiKey = raw.get('ELASTICSEARCH_API_KEY')?.value || undefined
    if (!apiKey)
      throw new ConfigError('ELASTICSEARCH_API_KEY is not set.', {
        hint: 'Elastic Cloud (ELASTICSEARCH_USE_CLOUD=true) needs ELASTICSEARCH_API_KEY.',
      })
    const u = new URL(cloudUrl)
    return { node: `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}`, apiKey, ...common }
  }
  return {
    node: hostUrl(str(raw, 'ELASTICSEARCH_HOST') ?? 'elasticsearch', port(raw, 'ELASTICSEARCH_PORT', 9200)),
    username: str(raw, 'ELASTICSEARCH_USERNAME') ?? 'elastic',
    password: raw.get('ELASTICSEARCH_PASSWORD')?.value ?? 'elastic',
    ...common,
  }
}

export interface OpensearchSettings {
  node: string
  username?: string
  password?: string
  verifyCerts: boolean
  authMethod: string
  awsRegion?: string
  awsService?: string
}

/** Dify's OpenSearchConfig: OPENSEARCH_HOST/_PORT/_SECURE/_VERIFY_CERTS/_AUTH_METHOD/_USER/_PASSWORD. */
export function opensearchSettings(raw: Raw): OpensearchSettings {
  const host = str(raw, 'OPENSEARCH_HOST')
  if (!host)
    throw new ConfigError('OPENSEARCH_HOST is not set.', {
      hint: 'Set OPENSEARCH_HOST (and OPENSEARCH_PORT) as in the dify-api container.',
    })
  const secure = bool(raw, 'OPENSEARCH_SECURE', false)
  const authMethod = (str(raw, 'OPENSEARCH_AUTH_METHOD') ?? 'basic').toLowerCase()
  if (authMethod !== 'basic') {
    throw new ConfigError(`OPENSEARCH_AUTH_METHOD=${authMethod} is not supported by dify-ops.`, {
      hint: 'Use basic authentication (OPENSEARCH_USER/OPENSEARCH_PASSWORD).',
    })
  }
  return {
    node: `${secure ? 'https' : 'http'}://${host.replace(/^https?:\/\//i, '')}:${port(raw, 'OPENSEARCH_PORT', 9200)}`,
    username: str(raw, 'OPENSEARCH_USER'),
    password: raw.get('OPENSEARCH_PASSWORD')?.value || undefined,
    verifyCerts: bool(raw, 'OPENSEARCH_VERIFY_CERTS', true),
    authMethod,
    awsRegion: str(raw, 'OPENSEARCH_AWS_REGION'),
    awsService: str(raw, 'OPENSEARCH_AWS_SERVICE'),
  }
}

export interface MilvusSettings {
  uri: string
  token?: string
  user?: string
  password?: string
  database: string
  /** Dify 1.15.0: MILVUS_SECURE (one-way TLS), MILVUS_SERVER_PEM_PATH (CA / server certificate), MILVUS_SERVER_NAME (SNI, name checked) */
  secure?: boolean
  serverPemPath?: string
  serverName?: string
}

/** Dify's MilvusConfig: MILVUS_URI, MILVUS_TOKEN or MILVUS_USER + MILVUS_PASSWORD, MILVUS_DATABASE. */
export function milvusSettings(raw: Raw): MilvusSettings {
  const token = raw.get('MILVUS_TOKEN')?.value || undefined
  const user = str(raw, 'MILVUS_USER')
  const password = raw.get('MILVUS_PASSWORD')?.value || undefined
  if (!token && (!user || password === undefined)) {
    throw new ConfigError('MILVUS_USER and MILVUS_PASSWORD (or MILVUS_TOKEN) are not set.', {
      hint: 'Set them as in the dify-api container.',
    })
  }
  const secure = bool(raw, 'MILVUS_SECURE', false)
  return {
    uri: str(raw, 'MILVUS_URI') ?? 'http://127.0.0.1:19530',
    token,
    user,
    password,
    database: str(raw, 'MILVUS_DATABASE') ?? 'default',
    // as Dify's MilvusVector._init_client (1.15.0): the PEM path and server name only with MILVUS_SECURE
    ...(secure
      ? { secure, serverPemPath: str(raw, 'MILVUS_SERVER_PEM_PATH'), serverName: str(raw, 'MILVUS_SERVER_NAME') }
      : {}),
  }
}

/** MILVUS_ENABLE_HYBRID_SEARCH (Dify's code default: true; its .env.example sets false) and MILVUS_ANALYZER_PARAMS */
export function milvusHybrid(raw: Raw): { enabled: boolean; analyzerParams?: string } {
  return { enabled: bool(raw, 'MILVUS_ENABLE_HYBRID_SEARCH', true), analyzerParams: str(raw, 'MILVUS_ANALYZER_PARAMS') }
}
