/** Celery queues the community dify-api worker consumes (api/docker/entrypoint.sh DEFAULT_QUEUES). */
export const WORKER_QUEUES_1_11 = [
  'dataset', 'priority_dataset', 'priority_pipeline', 'pipeline', 'mail', 'ops_trace', 'app_deletion', 'plugin',
  'workflow_storage', 'conversation', 'workflow', 'schedule_poller', 'schedule_executor', 'triggered_workflow_dispatcher',
  'trigger_refresh_executor',
] as const

/** From 1.12.0 the worker also consumes `retention`. */
export const WORKER_QUEUES_1_12 = [...WORKER_QUEUES_1_11, 'retention'] as const

/** kombu's separator between a queue name and its priority suffix ("dataset\x06\x163"). */
export const PRIORITY_SEP = '\x06\x16'
/** kombu's default priority steps on Redis; the bare list is priority 0. */
export const PRIORITY_STEPS = [0, 3, 6, 9] as const

export function priorityListKey(queue: string, priority: number): string {
  return priority === 0 ? queue : `${queue}${PRIORITY_SEP}${priority}`
}
