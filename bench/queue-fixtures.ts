// Shared by the queue benchmarks: realistic Dify-like Celery messages (protocol 2, JSON, base64 body).
import { randomUUID } from 'node:crypto'

const TASKS = [
  'tasks.document_indexing_task.document_indexing_task',
  'tasks.add_document_to_index_task.add_document_to_index_task',
  'tasks.mail_invite_member_task.send_invite_member_mail_task',
  'tasks.ops_trace_task.process_trace_tasks',
  'tasks.remove_app_and_related_data_task.remove_app_and_related_data_task',
]

/** One message as kombu stores it (same key order and separators as Python's json.dumps). */
export function message(i: number, queue: string): string {
  const id = randomUUID()
  const task = TASKS[i % TASKS.length]!
  const kwargs = { dataset_id: randomUUID(), document_ids: [randomUUID()], tenant_id: randomUUID() }
  const body = Buffer.from(
    JSON.stringify([[], kwargs, { callbacks: null, errbacks: null, chain: null, chord: null }]),
  ).toString('base64')
  const eta =
    i % 10 === 0
      ? JSON.stringify(new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString().replace('Z', '000+00:00'))
      : 'null'
  return `{"body": "${body}", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py", "task": "${task}", "id": "${id}", "shadow": null, "eta": ${eta}, "expires": null, "group": null, "group_index": null, "retries": 0, "timelimit": [null, null], "root_id": "${id}", "parent_id": null, "argsrepr": "()", "kwargsrepr": "${JSON.stringify(kwargs).replace(/"/g, "'")}", "origin": "gen22081@3f2a9c1e", "ignore_result": true, "replaced_task_nesting": 0, "stamped_headers": null, "stamps": {}}, "properties": {"correlation_id": "${id}", "reply_to": "3e9957b8-d5ee-3cd2-9d97-a503714c8462", "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "${queue}"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "${randomUUID()}"}}`
}

export const TASK_COUNT = TASKS.length
