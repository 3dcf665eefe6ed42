/**
 * Dify's document-indexing work, per release: the Celery tasks that move a document's `indexing_status` on, the
 * queues they go to, their parameters, how Dify dispatches a new indexing run, and the tenant-isolated task queue
 * (api/core/rag/pipeline/queue.py). Checked at the tags listed in docs/documents.md; every string here is used
 * from this module only. Chosen by `indexingFactsFor(version)`, which the profile (profile.ts) calls.
 */
import { compareVersions } from './releases.js'

/** indexing_status values after which nothing moves a document on (api/models/dataset.py; enum IndexingStatus 1.15). */
export const TERMINAL_STATUSES = ['completed', 'error'] as const
/** the non-terminal values; `paused` is an enum member only from 1.14/1.15 (older releases use is_paused) */
export const NON_TERMINAL_STATUSES = ['waiting', 'parsing', 'cleaning', 'splitting', 'indexing', 'paused'] as const

/** A task that may carry a document on: its Celery name, queue, and parameter names in order (to bind args). */
export interface IndexingTask {
  name: string
  queue: string
  params: readonly string[]
}

const T = (module: string, fn: string, queue: string, params: string[]): IndexingTask => ({
  name: `tasks.${module}.${fn}`,
  queue,
  params,
})

/** Tasks present at every release 1.0.0 – 1.15.0 (api/tasks/*.py, `@shared_task(queue=…)`). */
const COMMON: IndexingTask[] = [
  T('document_indexing_task', 'document_indexing_task', 'dataset', ['dataset_id', 'document_ids']),
  T('duplicate_document_indexing_task', 'duplicate_document_indexing_task', 'dataset', ['dataset_id', 'document_ids']),
  // user_id from 1.9 on; binding by name makes both shapes work
  T('retry_document_indexing_task', 'retry_document_indexing_task', 'dataset', [
    'dataset_id',
    'document_ids',
    'user_id',
  ]),
  T('sync_website_document_indexing_task', 'sync_website_document_indexing_task', 'dataset', [
    'dataset_id',
    'document_id',
  ]),
  T('document_indexing_sync_task', 'document_indexing_sync_task', 'dataset', ['dataset_id', 'document_id']),
  T('document_indexing_update_task', 'document_indexing_update_task', 'dataset', ['dataset_id', 'document_id']),
  T('recover_document_indexing_task', 'recover_document_indexing_task', 'dataset', ['dataset_id', 'document_id']),
  T('add_document_to_index_task', 'add_document_to_index_task', 'dataset', ['dataset_document_id']),
  T('enable_segments_to_index_task', 'enable_segments_to_index_task', 'dataset', [
    'segment_ids',
    'dataset_id',
    'document_id',
  ]),
  T('batch_create_segment_to_index_task', 'batch_create_segment_to_index_task', 'dataset', [
    'job_id',
    'upload_file_id',
    'dataset_id',
    'document_id',
    'tenant_id',
    'user_id',
  ]),
]
const TENANT_PARAMS = ['tenant_id', 'dataset_id', 'document_ids']
/**
 * 1.9.0: RAG pipeline runs (api/tasks/rag_pipeline/); their argument is the id of an upload_files row whose stored
 * object holds the invoke entities (pipelineEntityDocuments), not document ids
 */
export const PIPELINE_FILE_PARAM = 'rag_pipeline_invoke_entities_file_id'
const PIPELINE_PARAMS = [PIPELINE_FILE_PARAM, 'tenant_id']
/** documents.created_from of a document a RAG pipeline created (pipeline_generator.py _build_document, 1.9.0 on) */
export const PIPELINE_CREATED_FROM = 'rag-pipeline'

/**
 * The documents of a pipeline run's invoke-entities file (FileService.upload_text of `json.dumps([entity.model_dump()
 * …])`, RagPipelineInvokeEntity in api/core/app/entities/rag_pipeline_invoke_entities.py): each entity's
 * `application_generate_entity` is a RagPipelineGenerateEntity dump whose `document_id` is the document it indexes
 * (its `original_document_id` on a re-run). Throws on a text that is not such a list.
 */
export function pipelineEntityDocuments(text: string): Array<{ documentId: string; datasetId: string | null }> {
  const v = JSON.parse(text) as unknown
  if (!Array.isArray(v)) throw new Error('not a list of invoke entities')
  const out: Array<{ documentId: string; datasetId: string | null }> = []
  for (const e of v) {
    const g = (e as { application_generate_entity?: Record<string, unknown> } | null)?.application_generate_entity
    if (!g || typeof g !== 'object') throw new Error('an entity without application_generate_entity')
    const id = typeof g.document_id === 'string' ? g.document_id : g.original_document_id
    if (typeof id === 'string')
      out.push({ documentId: id, datasetId: typeof g.dataset_id === 'string' ? g.dataset_id : null })
  }
  return out
}
const FROM_1_9: IndexingTask[] = [
  {
    name: 'tasks.rag_pipeline.rag_pipeline_run_task.rag_pipeline_run_task',
    queue: 'pipeline',
    params: PIPELINE_PARAMS,
  },
  {
    name: 'tasks.rag_pipeline.priority_rag_pipeline_run_task.priority_rag_pipeline_run_task',
    queue: 'priority_pipeline',
    params: PIPELINE_PARAMS,
  },
]
/** 1.10.0: normal/priority document indexing through DocumentIndexingTaskProxy */
const FROM_1_10: IndexingTask[] = [
  T('document_indexing_task', 'normal_document_indexing_task', 'dataset', TENANT_PARAMS),
  T('document_indexing_task', 'priority_document_indexing_task', 'priority_dataset', TENANT_PARAMS),
]
/** 1.11.0: the same for duplicate documents (DuplicateDocumentIndexingTaskProxy) */
const FROM_1_11: IndexingTask[] = [
  T('duplicate_document_indexing_task', 'normal_duplicate_document_indexing_task', 'dataset', TENANT_PARAMS),
  T('duplicate_document_indexing_task', 'priority_duplicate_document_indexing_task', 'priority_dataset', TENANT_PARAMS),
]

/** One tenant-isolated queue: `tenant_self_<key>_task_queue:<tenant>` (LIST) and its flag `tenant_<key>_task:<tenant>`. */
export interface TenantQueueKind {
  uniqueKey: string
  /** the task Dify delays for the next entry: sandbox plan → normal, paid plans → priority */
  normalTask: string | null
  priorityTask: string | null
  /** entries: TaskWrapper JSON {"data": {tenant_id, dataset_id, document_ids}}, or a raw upload-file id (pipeline) */
  entry: 'document-task' | 'file-id'
}

export interface IndexingFacts {
  tasks: readonly IndexingTask[]
  /** queues whose messages can carry a document (every priority list of each is read) */
  queues: readonly string[]
  /** how Dify dispatches indexing of new documents on a self-hosted install (billing disabled) */
  dispatch: { task: string; queue: string; shape: 'positional-dataset-documents' | 'kwargs-tenant-dataset-documents' }
  /** the tenant-isolated queues this release has ([] before 1.9.0; pipeline only at 1.9.x) */
  tenantQueues: readonly TenantQueueKind[]
  /** SETEX TTL of the running flag (queue.py _DEFAULT_TASK_TTL; pipeline_generator.py ex=3600 at 1.9) */
  tenantFlagTtlSeconds: number
  /** the enum has `paused` as an indexing_status value (api/models/enums.py IndexingStatus) */
  pausedStatus: boolean
  /**
   * Dify's re-runs of one document (api/services/dataset_service.py DocumentService.retry_document,
   * sync_website_document, recover_document), all `.delay()`ed directly on `dataset` with positional arguments at
   * every release (never through a proxy or the tenant queue; no priority variant exists, 1.0.0 – 1.15.0)
   */
  rerun: {
    /** retry_document_indexing_task(dataset_id, document_ids[, user_id]): user_id from 1.9.0 */
    retry: IndexingTask & { withUserId: boolean }
    /** sync_website_document_indexing_task(dataset_id, document_id): a website-crawl document, re-scraped */
    syncWebsite: IndexingTask
    /** recover_document_indexing_task(dataset_id, document_id): the resume of a paused document */
    recover: IndexingTask
  }
  /** TTL of the per-document "being retried"/"being synced" flags (setex 600) */
  documentFlagTtlSeconds: number
  /** datasets.runtime_mode exists ('rag_pipeline' datasets, 1.9.0): retry re-runs such a document's pipeline */
  pipelineDatasets: boolean
}

const name = (t: IndexingTask) => t.name

export function indexingFactsFor(version: string | null): IndexingFacts {
  const atLeast = (v: string) => (version ? compareVersions(version, v) >= 0 : true)
  const tasks = [
    ...COMMON,
    ...(atLeast('1.9.0') ? FROM_1_9 : []),
    ...(atLeast('1.10.0') ? FROM_1_10 : []),
    ...(atLeast('1.11.0') ? FROM_1_11 : []),
  ]
  const byName = (n: string) => tasks.find((t) => t.name.endsWith(`.${n}`))!
  const dispatchTask = atLeast('1.10.0') ? byName('priority_document_indexing_task') : byName('document_indexing_task')
  const tenantQueues: TenantQueueKind[] = []
  if (atLeast('1.10.0')) {
    tenantQueues.push({
      uniqueKey: 'document_indexing',
      normalTask: name(byName('normal_document_indexing_task')),
      priorityTask: name(dispatchTask),
      entry: 'document-task',
    })
  }
  if (atLeast('1.11.0')) {
    tenantQueues.push({
      uniqueKey: 'duplicate_document_indexing',
      normalTask: name(byName('normal_duplicate_document_indexing_task')),
      priorityTask: name(byName('priority_duplicate_document_indexing_task')),
      entry: 'document-task',
    })
  }
  if (atLeast('1.9.0')) {
    // 1.9.x: only the sandbox path (rag_pipeline_run_task) uses it; from 1.10 RagPipelineTaskProxy, both tasks pull it
    tenantQueues.push({
      uniqueKey: 'pipeline',
      normalTask: FROM_1_9[0]!.name,
      priorityTask: atLeast('1.10.0') ? FROM_1_9[1]!.name : null,
      entry: 'file-id',
    })
  }
  return {
    tasks,
    queues: atLeast('1.9.0') ? ['dataset', 'priority_dataset', 'pipeline', 'priority_pipeline'] : ['dataset'],
    dispatch: {
      task: dispatchTask.name,
      queue: dispatchTask.queue,
      shape: atLeast('1.10.0') ? 'kwargs-tenant-dataset-documents' : 'positional-dataset-documents',
    },
    tenantQueues,
    tenantFlagTtlSeconds: 3600,
    pausedStatus: atLeast('1.14.0'),
    rerun: {
      retry: { ...byName('retry_document_indexing_task'), withUserId: atLeast('1.9.0') },
      syncWebsite: byName('sync_website_document_indexing_task'),
      recover: byName('recover_document_indexing_task'),
    },
    documentFlagTtlSeconds: 600,
    pipelineDatasets: atLeast('1.9.0'),
  }
}

/**
 * Per-document Redis flags of DocumentService (api/services/dataset_service.py, the same at 1.0.0 – 1.15.0):
 * `paused` (setnx "True" by pause_document, deleted by recover_document), `retried` and `sync` (setex 600 1 by
 * retry_document / sync_website_document, which refuse while it exists; the task deletes it when it ends).
 */
export const documentFlagKeys = {
  paused: (documentId: string, prefix = '') => `${prefix}document_${documentId}_is_paused`,
  retried: (documentId: string, prefix = '') => `${prefix}document_${documentId}_is_retried`,
  sync: (documentId: string, prefix = '') => `${prefix}document_${documentId}_is_sync`,
}

/** data_source_type of a document crawled from a website (api/models/dataset.py; sync_website_document) */
export const WEBSITE_CRAWL = 'website_crawl'
/** datasets.runtime_mode of a RAG-pipeline dataset (1.9.0 on) */
export const RAG_PIPELINE_RUNTIME = 'rag_pipeline'

/** How Dify would re-run one document, by its situation (docs/documents.md "requeue"). */
export type RerunKind = 'index' | 'retry' | 'sync-website' | 'recover'

/** The call for a re-run of `documentIds` (one call for index/retry, one document for sync-website/recover). */
export function rerunCall(
  f: IndexingFacts,
  kind: RerunKind,
  o: { tenantId: string; datasetId: string; documentIds: string[]; userId?: string | null },
): { task: string; queue: string; args: unknown[]; kwargs: Record<string, unknown> } {
  if (kind === 'index') return dispatchCall(f, o.tenantId, o.datasetId, o.documentIds)
  if (kind === 'retry') {
    const t = f.rerun.retry
    const args: unknown[] = [o.datasetId, o.documentIds]
    if (t.withUserId) args.push(o.userId ?? null)
    return { task: t.name, queue: t.queue, args, kwargs: {} }
  }
  const t = kind === 'recover' ? f.rerun.recover : f.rerun.syncWebsite
  return { task: t.name, queue: t.queue, args: [o.datasetId, o.documentIds[0]], kwargs: {} }
}

/** Redis keys of Dify's tenant-isolated task queue (queue.py TenantIsolatedTaskQueue); `prefix` "" or "<p>:". */
export const tenantQueueKeys = {
  queue: (uniqueKey: string, tenantId: string, prefix = '') =>
    `${prefix}tenant_self_${uniqueKey}_task_queue:${tenantId}`,
  flag: (uniqueKey: string, tenantId: string, prefix = '') => `${prefix}tenant_${uniqueKey}_task:${tenantId}`,
}

/** Bind a task's positional args and kwargs to its parameter names (as Python would for these signatures). */
export function bindTaskArgs(task: IndexingTask, args: unknown, kwargs: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (Array.isArray(args))
    args.forEach((v, i) => {
      if (task.params[i]) out[task.params[i]!] = v
    })
  if (kwargs && typeof kwargs === 'object' && !Array.isArray(kwargs)) Object.assign(out, kwargs)
  return out
}

/** The documents a bound task call concerns: document_ids, document_id or dataset_document_id. */
export function documentIdsOf(bound: Record<string, unknown>): string[] {
  const ids: string[] = []
  for (const k of ['document_ids', 'document_id', 'dataset_document_id']) {
    const v = bound[k]
    if (typeof v === 'string') ids.push(v)
    else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') ids.push(x)
  }
  return ids
}

/** The call Dify makes to index `documentIds` of one dataset (self-hosted: no billing, no tenant isolation). */
export function dispatchCall(
  f: IndexingFacts,
  tenantId: string,
  datasetId: string,
  documentIds: string[],
): { task: string; queue: string; args: unknown[]; kwargs: Record<string, unknown> } {
  if (f.dispatch.shape === 'kwargs-tenant-dataset-documents') {
    return {
      task: f.dispatch.task,
      queue: f.dispatch.queue,
      args: [],
      kwargs: { tenant_id: tenantId, dataset_id: datasetId, document_ids: documentIds },
    }
  }
  return { task: f.dispatch.task, queue: f.dispatch.queue, args: [datasetId, documentIds], kwargs: {} }
}
