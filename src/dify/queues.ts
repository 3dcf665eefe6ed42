/**
 * Celery queues the community (SELF_HOSTED) dify-api worker consumes when neither CELERY_QUEUES nor
 * CELERY_WORKER_QUEUES is set: `api/docker/entrypoint.sh` at every tag 1.0.0 … 1.15.0 (docs/queues.md lists
 * each tag). Before 1.10.0 the list is the default of `-Q ${CELERY_QUEUES:-…}`; from 1.10.0 it is DEFAULT_QUEUES.
 * Each entry holds from its release until the next entry's release; the order is the entrypoint's.
 */
const Q_1_0 = ['dataset', 'mail', 'ops_trace', 'app_deletion'] as const
const Q_1_7 = [...Q_1_0, 'plugin'] as const
const Q_1_8 = [...Q_1_7, 'workflow_storage', 'conversation'] as const
const Q_1_9 = [
  'dataset',
  'pipeline',
  'mail',
  'ops_trace',
  'app_deletion',
  'plugin',
  'workflow_storage',
  'conversation',
] as const
const Q_1_10 = [
  'dataset',
  'priority_dataset',
  'priority_pipeline',
  'pipeline',
  'mail',
  'ops_trace',
  'app_deletion',
  'plugin',
  'workflow_storage',
  'conversation',
  'workflow',
  'schedule_poller',
  'schedule_executor',
  'triggered_workflow_dispatcher',
  'trigger_refresh_executor',
] as const
const Q_1_11_2 = [...Q_1_10, 'retention'] as const
const Q_1_13_0 = ['api_token', ...Q_1_11_2, 'workflow_based_app_execution'] as const
const Q_1_13_1 = [
  'api_token',
  'dataset',
  'dataset_summary',
  ...Q_1_11_2.slice(1),
  'workflow_based_app_execution',
] as const
const Q_1_14_0 = [
  ...Q_1_13_1.slice(0, Q_1_13_1.indexOf('trigger_refresh_executor')),
  'trigger_refresh_publisher',
  ...Q_1_13_1.slice(Q_1_13_1.indexOf('trigger_refresh_executor')),
] as const

export const WORKER_QUEUES_BY_RELEASE: ReadonlyArray<readonly [from: string, queues: readonly string[]]> = [
  ['1.0.0', Q_1_0],
  ['1.7.0', Q_1_7],
  ['1.8.0', Q_1_8],
  ['1.9.0', Q_1_9],
  ['1.10.0', Q_1_10],
  ['1.11.2', Q_1_11_2],
  ['1.13.0', Q_1_13_0],
  ['1.13.1', Q_1_13_1],
  ['1.14.0', Q_1_14_0],
]

/** The newest list (used when no database tells the release). */
export const WORKER_QUEUES_NEWEST: readonly string[] = WORKER_QUEUES_BY_RELEASE.at(-1)![1]

/** The release from which the entrypoint splits by EDITION (CLOUD) and honours CELERY_WORKER_QUEUES. */
export const EDITION_QUEUES_FROM = '1.10.0'
export const CELERY_WORKER_QUEUES_FROM = '1.10.0'

/**
 * The CLOUD edition's list (1.10.0 … 1.15.0): the community list with `workflow` replaced by
 * `workflow_professional, workflow_team, workflow_sandbox` at the same place (checked at every tag).
 */
export function cloudQueues(community: readonly string[]): string[] {
  return community.flatMap((q) =>
    q === 'workflow' ? ['workflow_professional', 'workflow_team', 'workflow_sandbox'] : [q],
  )
}

/** kombu's separator between a queue name and its priority suffix ("dataset\x06\x163"). */
export const PRIORITY_SEP = '\x06\x16'
/** kombu's default priority steps on Redis; the bare list is priority 0. */
export const PRIORITY_STEPS = [0, 3, 6, 9] as const

export function priorityListKey(queue: string, priority: number): string {
  return priority === 0 ? queue : `${queue}${PRIORITY_SEP}${priority}`
}
