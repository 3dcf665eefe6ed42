/**
 * What the Elasticsearch and OpenSearch adapters share: Dify lays a segment out the same way in both (`_source`
 * {page_content, metadata, vector}, `_id` = doc_id), and both clients (OpenSearch's is a fork of Elasticsearch's)
 * report an HTTP failure as `meta.statusCode` / `meta.body.error` and a transport failure by the error's name.
 */
import { ConfigError, ConnectError, DifyOpsError } from '../../core/errors.js'
import type { VectorRecord } from '../store.js'

/** A segment's `_source` as Dify writes it. */
export interface SegmentSource {
  page_content?: string
  metadata?: Record<string, unknown>
  vector?: number[]
}

/** A stored document as a record (float32 components, as the engines store dense vectors). */
export function sourceToRecord(id: string, src: SegmentSource): VectorRecord {
  const metadata = src.metadata ?? {}
  return {
    id,
    docId: typeof metadata.doc_id === 'string' ? metadata.doc_id : id,
    text: String(src.page_content ?? ''),
    metadata,
    vector: Array.from(src.vector ?? [], Math.fround),
  }
}

/** The HTTP status of a client error, if the server answered. */
export function httpStatus(e: unknown): number | undefined {
  return (e as { meta?: { statusCode?: number } }).meta?.statusCode
}

export interface EngineErrorContext {
  /** "Elasticsearch" or "OpenSearch" */
  product: string
  /** the server's address without credentials */
  where: string
  /** what to check when the server refuses the credentials (401/403) */
  authHint: string
  /** what to check when it cannot be reached, or is another product */
  connectHint: string
}

/** A client error as one of ours: refused credentials (exit 4), unreachable (exit 5), anything else (exit 1). */
export function engineError(e: unknown, c: EngineErrorContext): Error {
  if (e instanceof DifyOpsError) return e
  const err = e as Error & {
    name?: string
    meta?: { statusCode?: number; body?: { error?: { type?: string; reason?: string } } }
  }
  const code = err.meta?.statusCode
  if (code === 401 || code === 403)
    return new ConfigError(`${c.product} at ${c.where} refused the request (HTTP ${code}).`, {
      hint: c.authHint,
      cause: e,
    })
  if (err.name === 'ConnectionError' || err.name === 'TimeoutError' || err.name === 'NoLivingConnectionsError')
    return new ConnectError(`Cannot connect to ${c.product} at ${c.where}: ${err.message}.`, {
      hint: c.connectHint,
      cause: e,
    })
  // the Elasticsearch client checks the product header of the server's answers
  if (err.name === 'ProductNotSupportedError')
    return new ConfigError(`The server at ${c.where} is not ${c.product}.`, { hint: c.connectHint, cause: e })
  const b = err.meta?.body?.error
  const detail = b?.type ? `${b.type}: ${b.reason}` : err.message
  return new DifyOpsError(`${c.product}${code ? ` (HTTP ${code})` : ''}: ${detail}`, { cause: e })
}
