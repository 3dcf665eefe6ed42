import { describe, expect, it } from 'vitest'
import {
  bindTaskArgs,
  dispatchCall,
  documentFlagKeys,
  documentIdsOf,
  indexingFactsFor,
  pipelineEntityDocuments,
  rerunCall,
  tenantQueueKeys,
} from '../../../src/dify/indexing-tasks.js'
import { dumpsPython } from '../../../src/queues/pyjson.js'
import { profileFor } from '../../../src/dify/profile.js'
import { FIRST_WINDOW } from '../../../src/dify/releases.js'
import { classify, tenantEntryDocuments, type Work } from '../../../src/documents/stuck.js'
import { buildTaskMessage, pyRepr } from '../../../src/documents/celery-message.js'

describe('indexing facts per release (checked at the tags in docs/documents.md)', () => {
  it('before 1.9: legacy positional dispatch to `dataset`, no tenant queues', () => {
    const f = indexingFactsFor('1.0.0')
    expect(f.dispatch).toEqual({
      task: 'tasks.document_indexing_task.document_indexing_task',
      queue: 'dataset',
      shape: 'positional-dataset-documents',
    })
    expect(f.tenantQueues).toEqual([])
    expect(f.queues).toEqual(['dataset'])
    expect(dispatchCall(f, 't', 'd', ['x'])).toEqual({
      task: f.dispatch.task,
      queue: 'dataset',
      args: ['d', ['x']],
      kwargs: {},
    })
  })
  it('1.9.x: pipeline tenant queue only', () => {
    expect(indexingFactsFor('1.9.2').tenantQueues.map((k) => k.uniqueKey)).toEqual(['pipeline'])
  })
  it('1.10: priority_document_indexing_task with keyword arguments; 1.11+: duplicate variants too', () => {
    const f10 = indexingFactsFor('1.10.0')
    expect(f10.dispatch).toEqual({
      task: 'tasks.document_indexing_task.priority_document_indexing_task',
      queue: 'priority_dataset',
      shape: 'kwargs-tenant-dataset-documents',
    })
    expect(f10.tenantQueues.map((k) => k.uniqueKey)).toEqual(['document_indexing', 'pipeline'])
    const f = indexingFactsFor('1.12.1')
    expect(f.tenantQueues.map((k) => k.uniqueKey)).toEqual([
      'document_indexing',
      'duplicate_document_indexing',
      'pipeline',
    ])
    expect(f.tasks.map((t) => t.name)).toContain(
      'tasks.duplicate_document_indexing_task.priority_duplicate_document_indexing_task',
    )
    expect(dispatchCall(f, 't', 'd', ['x'])).toEqual({
      task: f.dispatch.task,
      queue: 'priority_dataset',
      args: [],
      kwargs: { tenant_id: 't', dataset_id: 'd', document_ids: ['x'] },
    })
    expect(f.pausedStatus).toBe(false)
    expect(indexingFactsFor('1.15.0').pausedStatus).toBe(true)
  })
  it('the profile carries them, decided from alembic_version', () => {
    expect(profileFor(FIRST_WINDOW.toHead).indexing.dispatch.shape).toBe('kwargs-tenant-dataset-documents')
  })
  it('tenant queue keys (api/core/rag/pipeline/queue.py)', () => {
    expect(tenantQueueKeys.queue('document_indexing', 'T', 'p:')).toBe('p:tenant_self_document_indexing_task_queue:T')
    expect(tenantQueueKeys.flag('pipeline', 'T')).toBe('tenant_pipeline_task:T')
  })
  it('binds positional and keyword arguments to the documents they concern', () => {
    const f = indexingFactsFor('1.12.1')
    const t = (n: string) => f.tasks.find((x) => x.name.endsWith(`.${n}`))!
    expect(documentIdsOf(bindTaskArgs(t('document_indexing_task'), ['ds', ['a', 'b']], {}))).toEqual(['a', 'b'])
    expect(documentIdsOf(bindTaskArgs(t('retry_document_indexing_task'), ['ds', ['a']], {}))).toEqual(['a'])
    expect(documentIdsOf(bindTaskArgs(t('add_document_to_index_task'), ['a'], {}))).toEqual(['a'])
    expect(documentIdsOf(bindTaskArgs(t('enable_segments_to_index_task'), [['s1'], 'ds', 'a'], {}))).toEqual(['a'])
    expect(
      documentIdsOf(
        bindTaskArgs(t('priority_document_indexing_task'), [], {
          tenant_id: 't',
          dataset_id: 'd',
          document_ids: ['a'],
        }),
      ),
    ).toEqual(['a'])
  })
})

describe('classification', () => {
  const w = (x: Partial<Work>): Work => ({
    kind: 'queue',
    task: 't',
    taskId: null,
    queue: 'dataset',
    priority: 0,
    position: 1,
    node: null,
    state: null,
    tenantQueue: null,
    flag: null,
    flagTtlSeconds: null,
    ...x,
  })
  const none = { total: 0, completed: 0, paused: false }
  it('a worker wins over a queued copy; unacked is queued; tenant queue stale or in flight', () => {
    expect(classify([w({}), w({ kind: 'worker', node: 'n', state: 'active' })], none)[0]).toBe('running')
    expect(classify([w({ kind: 'unacked' })], none)[0]).toBe('queued')
    expect(classify([w({ kind: 'tenant-queue', state: 'stale', flag: true })], none)[0]).toBe('blocked')
    expect(classify([w({ kind: 'tenant-queue', state: 'in-flight' })], none)[0]).toBe('queued')
  })
  it('failed silently, paused, orphaned', () => {
    expect(classify([], { total: 3, completed: 3, paused: false })[0]).toBe('failed-silently')
    expect(classify([], { total: 3, completed: 2, paused: false })[0]).toBe('orphaned')
    expect(classify([], { total: 0, completed: 0, paused: true })[0]).toBe('paused')
  })
  it('tenant-queue entries: TaskWrapper JSON, or a raw file id', () => {
    expect(tenantEntryDocuments('{"data":{"tenant_id":"t","dataset_id":"d","document_ids":["a","b"]}}')).toEqual([
      'a',
      'b',
    ])
    expect(tenantEntryDocuments('3f2a9c1e-0b7d-4c55-9a1e-2f6b8d0c4e11')).toEqual([])
  })
})

describe('the task message', () => {
  it('Python repr of arguments as Celery writes argsrepr/kwargsrepr', () => {
    expect(pyRepr([], true)).toBe('()')
    expect(pyRepr(['a'], true)).toBe("('a',)")
    expect(pyRepr(['d', ['x', 'y']], true)).toBe("('d', ['x', 'y'])")
    expect(pyRepr({ a: "it's", b: 'say "hi"', c: null, d: true })).toBe(
      `{'a': "it's", 'b': 'say "hi"', 'c': None, 'd': True}`,
    )
  })
  it('goes to the list of its priority, with the anonymous exchange and the queue as routing key', () => {
    const m = buildTaskMessage({ task: 'x', queue: 'priority_dataset', args: [], kwargs: {} }, { id: 'i' })
    const env = JSON.parse(m.payload)
    expect(m.list).toBe('priority_dataset')
    expect(env.properties.delivery_info).toEqual({ exchange: '', routing_key: 'priority_dataset' })
    expect(Object.keys(env.headers).slice(-3)).toEqual(['replaced_task_nesting', 'stamped_headers', 'stamps'])
    expect(JSON.parse(Buffer.from(env.body, 'base64').toString())).toEqual([
      [],
      {},
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ])
  })
})

describe('re-runs of one document (DocumentService at 1.0.0, 1.10.1, 1.12.0, 1.13.0, 1.15.0)', () => {
  it('retry takes user_id from 1.9.0; sync-website and recover take (dataset_id, document_id); all on dataset', () => {
    const o = { tenantId: 't', datasetId: 'd', documentIds: ['x', 'y'], userId: 'u' }
    const old = indexingFactsFor('1.8.1')
    expect(rerunCall(old, 'retry', o)).toEqual({
      task: 'tasks.retry_document_indexing_task.retry_document_indexing_task',
      queue: 'dataset',
      args: ['d', ['x', 'y']],
      kwargs: {},
    })
    for (const v of ['1.9.0', '1.13.0', '1.15.0']) {
      const f = indexingFactsFor(v)
      expect(rerunCall(f, 'retry', o).args).toEqual(['d', ['x', 'y'], 'u'])
      expect(rerunCall(f, 'sync-website', { ...o, documentIds: ['x'] })).toEqual({
        task: 'tasks.sync_website_document_indexing_task.sync_website_document_indexing_task',
        queue: 'dataset',
        args: ['d', 'x'],
        kwargs: {},
      })
      expect(rerunCall(f, 'recover', { ...o, documentIds: ['x'] })).toEqual({
        task: 'tasks.recover_document_indexing_task.recover_document_indexing_task',
        queue: 'dataset',
        args: ['d', 'x'],
        kwargs: {},
      })
      expect(rerunCall(f, 'index', o)).toEqual(dispatchCall(f, 't', 'd', ['x', 'y']))
      expect(f.pipelineDatasets).toBe(true)
    }
    expect(old.pipelineDatasets).toBe(false)
    expect(documentFlagKeys.retried('x', 'p:')).toBe('p:document_x_is_retried')
    expect(documentFlagKeys.sync('x')).toBe('document_x_is_sync')
    expect(documentFlagKeys.paused('x')).toBe('document_x_is_paused')
  })

  it('the documents of a pipeline invoke-entities file', () => {
    const text = JSON.stringify([
      { application_generate_entity: { document_id: 'a', dataset_id: 'd' } },
      { application_generate_entity: { document_id: null, original_document_id: 'b', dataset_id: 'd' } },
      { application_generate_entity: { document_id: null } },
    ])
    expect(pipelineEntityDocuments(text)).toEqual([
      { documentId: 'a', datasetId: 'd' },
      { documentId: 'b', datasetId: 'd' },
    ])
    expect(() => pipelineEntityDocuments('{"a": 1}')).toThrow(/not a list/)
    expect(() => pipelineEntityDocuments('[{}]')).toThrow(/application_generate_entity/)
  })

  it('json.dumps(ensure_ascii=False): only quote, backslash and C0 escaped', () => {
    expect(dumpsPython({ u: 'ä"\\\n\u0001\u007f\u2028😀', n: [1, true, null] }, { ensureAscii: false })).toBe(
      '{"u": "ä\\"\\\\\\n\\u0001\u007f\u2028😀", "n": [1, true, null]}',
    )
    expect(dumpsPython({ u: 'ä' })).toBe('{"u": "\\u00e4"}')
  })
})
