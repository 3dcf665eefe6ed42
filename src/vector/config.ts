import type { RawValue } from '../config/load.js'
import { ConfigError } from '../cli/errors.js'

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
    throw new ConfigError(`${name}=${JSON.stringify(v)} is not a valid port.`, { hint: `Set ${name} to a number from 1 to 65535.` })
  }
  return n
}

export interface PgvectorSettings { host: string; port: number; user: string; password: string; database: string }
export interface ChromaSettings {
  host: string; port: number; tenant: string; database: string; authProvider?: string; authCredentials?: string
}
export interface QdrantSettings { url: string; apiKey?: string; timeoutMs: number }
export interface WeaviateSettings { endpoint: string; apiKey?: string }

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
  if (!host) throw new ConfigError('CHROMA_HOST is not set.', { hint: 'Set CHROMA_HOST (and CHROMA_PORT) as in the dify-api container.' })
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
  if (!url) throw new ConfigError('QDRANT_URL is not set.', { hint: 'Set QDRANT_URL as in the dify-api container, e.g. http://qdrant:6333.' })
  if (url.startsWith('path:')) {
    throw new ConfigError('QDRANT_URL points to a local Qdrant directory (path:…), which only the Python client can open.', {
      hint: 'Point QDRANT_URL at a Qdrant server (http://host:6333).',
    })
  }
  const t = Number(str(raw, 'QDRANT_CLIENT_TIMEOUT') ?? '20')
  return { url, apiKey: raw.get('QDRANT_API_KEY')?.value || undefined, timeoutMs: (Number.isFinite(t) && t > 0 ? t : 20) * 1000 }
}

export function weaviateSettings(raw: Raw): WeaviateSettings {
  const endpoint = str(raw, 'WEAVIATE_ENDPOINT')
  if (!endpoint) throw new ConfigError('WEAVIATE_ENDPOINT is not set.', { hint: 'Set WEAVIATE_ENDPOINT as in the dify-api container, e.g. http://weaviate:8080.' })
  return { endpoint: endpoint.replace(/\/+$/, ''), apiKey: raw.get('WEAVIATE_API_KEY')?.value || undefined }
}

/** "host:port" style location without credentials, for messages. */
export function safeUrl(u: string): string {
  try {
    const p = new URL(u)
    p.username = ''
    p.password = ''
    return p.toString().replace(/\/$/, '')
  } catch {
    return u.replace(/\/\/[^@/]*@/, '//***@')
  }
}
