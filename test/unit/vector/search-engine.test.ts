import { describe, expect, it } from 'vitest'
import { ConfigError, ConnectError, DifyOpsError } from '../../../src/core/errors.js'
import { engineError, httpStatus, sourceToRecord } from '../../../src/vector/stores/search-engine.js'

const ctx = {
  product: 'OpenSearch',
  where: 'https://os:9200',
  authHint: 'Check OPENSEARCH_USER and OPENSEARCH_PASSWORD.',
  connectHint: 'Check OPENSEARCH_HOST.',
}
/** an error as the Elasticsearch and OpenSearch clients throw it */
const clientError = (name: string, message: string, meta?: object) => Object.assign(new Error(message), { name, meta })

describe('Elasticsearch / OpenSearch client errors', () => {
  it('refused credentials: a configuration error (exit 4) with the credentials hint', () => {
    const e = engineError(clientError('ResponseError', 'security_exception', { statusCode: 401 }), ctx)
    expect(e).toBeInstanceOf(ConfigError)
    expect((e as ConfigError).exitCode).toBe(4)
    expect(e.message).toBe('OpenSearch at https://os:9200 refused the request (HTTP 401).')
    expect((e as ConfigError).hint).toBe(ctx.authHint)
  })

  it('unreachable: a connection error (exit 5); another product: exit 4; both with the address hint', () => {
    for (const name of ['ConnectionError', 'TimeoutError', 'NoLivingConnectionsError']) {
      const e = engineError(clientError(name, 'connect ECONNREFUSED'), ctx)
      expect(e).toBeInstanceOf(ConnectError)
      expect(e.message).toBe('Cannot connect to OpenSearch at https://os:9200: connect ECONNREFUSED.')
      expect((e as ConnectError).hint).toBe(ctx.connectHint)
    }
    const other = engineError(clientError('ProductNotSupportedError', 'not es'), { ...ctx, product: 'Elasticsearch' })
    expect(other).toBeInstanceOf(ConfigError)
    expect(other.message).toBe('The server at https://os:9200 is not Elasticsearch.')
  })

  it("any other failure names the server's error type and reason (exit 1); ours pass through", () => {
    const meta = { statusCode: 400, body: { error: { type: 'illegal_argument_exception', reason: 'bad dims' } } }
    const e = engineError(clientError('ResponseError', 'x', meta), ctx)
    expect(e.constructor).toBe(DifyOpsError)
    expect(e.message).toBe('OpenSearch (HTTP 400): illegal_argument_exception: bad dims')
    expect(engineError(new Error('socket hang up'), ctx).message).toBe('OpenSearch: socket hang up')
    const ours = new ConfigError('x')
    expect(engineError(ours, ctx)).toBe(ours)
    expect(httpStatus(clientError('ResponseError', 'x', { statusCode: 404 }))).toBe(404)
    expect(httpStatus(new Error('x'))).toBeUndefined()
  })

  it("a stored segment as a record: float32 components, doc_id from the metadata or else the document's _id", () => {
    const r = sourceToRecord('id-1', { page_content: 'text', metadata: { doc_id: 'd-1' }, vector: [0.1, 0.2] })
    expect(r).toEqual({
      id: 'id-1',
      docId: 'd-1',
      text: 'text',
      metadata: { doc_id: 'd-1' },
      vector: [Math.fround(0.1), Math.fround(0.2)],
    })
    expect(sourceToRecord('id-2', {})).toEqual({ id: 'id-2', docId: 'id-2', text: '', metadata: {}, vector: [] })
  })
})
