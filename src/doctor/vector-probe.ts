import type { Config } from '../config/schema.js'
import { ConnectError } from '../cli/errors.js'
import { redactUrl } from '../cli/redact.js'

type Probe = { status: 'ok' | 'warn' | 'fail' | 'skip'; summary: string; hint?: string; unreachable?: boolean; details?: Record<string, unknown> }

const get = (name: string, cfg: Config) => cfg.raw.get(name)?.value || undefined

async function httpJson(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<unknown> {
  let res: Response
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) })
  } catch (e) {
    throw new ConnectError(`Cannot reach the vector store at ${redactUrl(url)}: ${((e as Error).cause as Error)?.message ?? (e as Error).message}.`, {
      hint: 'Check VECTOR_STORE and its host/port variables.',
    })
  }
  if (!res.ok) throw new ConnectError(`The vector store at ${redactUrl(url)} answered HTTP ${res.status}.`, { hint: 'Check its credentials.' })
  const text = await res.text()
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Reachability and version of the configured vector store (the adapters' describe() refines this). */
export async function probeVectorStore(cfg: Config, timeoutMs: number): Promise<Probe> {
  const store = cfg.vectorStore
  switch (store) {
    case 'pgvector': {
      const pg = (await import('pg')).default
      const host = get('PGVECTOR_HOST', cfg) ?? 'localhost'
      const port = Number(get('PGVECTOR_PORT', cfg) ?? 5433)
      const c = new pg.Client({ host, port, user: get('PGVECTOR_USER', cfg), password: get('PGVECTOR_PASSWORD', cfg), database: get('PGVECTOR_DATABASE', cfg), connectionTimeoutMillis: timeoutMs })
      try {
        await c.connect()
      } catch (e) {
        throw new ConnectError(`Cannot connect to pgvector at ${host}:${port}: ${(e as Error).message}.`, { hint: 'Check PGVECTOR_HOST, PGVECTOR_PORT and the credentials.' })
      }
      try {
        const r = await c.query(`select extversion from pg_extension where extname = 'vector'`)
        const v = r.rows[0]?.extversion as string | undefined
        return v
          ? { status: 'ok', summary: `pgvector ${v} at ${host}:${port}` }
          : { status: 'warn', summary: `PostgreSQL at ${host}:${port} reachable, but the vector extension is not installed in that database` }
      } finally {
        await c.end()
      }
    }
    case 'chroma': {
      const base = `http://${get('CHROMA_HOST', cfg) ?? '127.0.0.1'}:${get('CHROMA_PORT', cfg) ?? 8000}`
      const v = await httpJson(`${base}/api/v2/version`, timeoutMs)
      return { status: 'ok', summary: `Chroma ${String(v)} at ${base}` }
    }
    case 'qdrant': {
      const url = get('QDRANT_URL', cfg)
      if (!url) return { status: 'fail', summary: 'QDRANT_URL is not set', hint: 'Set QDRANT_URL.' }
      const key = get('QDRANT_API_KEY', cfg)
      const v = (await httpJson(url.replace(/\/$/, '') + '/', timeoutMs, key ? { 'api-key': key } : {})) as { version?: string }
      return { status: 'ok', summary: `Qdrant ${v.version ?? '?'} at ${redactUrl(url)}` }
    }
    case 'weaviate': {
      const url = get('WEAVIATE_ENDPOINT', cfg)
      if (!url) return { status: 'fail', summary: 'WEAVIATE_ENDPOINT is not set', hint: 'Set WEAVIATE_ENDPOINT.' }
      const key = get('WEAVIATE_API_KEY', cfg)
      const v = (await httpJson(url.replace(/\/$/, '') + '/v1/meta', timeoutMs, key ? { authorization: `Bearer ${key}` } : {})) as { version?: string }
      return { status: 'ok', summary: `Weaviate ${v.version ?? '?'} at ${redactUrl(url)}` }
    }
    case 'elasticsearch':
    case 'opensearch': {
      const prefix = store === 'elasticsearch' ? 'ELASTICSEARCH' : 'OPENSEARCH'
      const host = get(`${prefix}_HOST`, cfg)
      if (!host) return { status: 'fail', summary: `${prefix}_HOST is not set`, hint: `Set ${prefix}_HOST.` }
      const base = /^https?:\/\//.test(host) ? host : `http://${host}:${get(`${prefix}_PORT`, cfg) ?? 9200}`
      const user = get(store === 'elasticsearch' ? 'ELASTICSEARCH_USERNAME' : 'OPENSEARCH_USER', cfg)
      const pass = get(`${prefix}_PASSWORD`, cfg)
      const v = (await httpJson(base, timeoutMs, user ? { authorization: `Basic ${Buffer.from(`${user}:${pass ?? ''}`).toString('base64')}` } : {})) as { version?: { number?: string } }
      return { status: 'ok', summary: `${store} ${v.version?.number ?? '?'} at ${redactUrl(base)}` }
    }
    default:
      return { status: 'skip', summary: `VECTOR_STORE=${store}: no reachability probe in dify-ops yet` }
  }
}
