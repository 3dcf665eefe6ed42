import type { Revision } from '../types.js'
import { backupColumns, createFromBaseline, droppedColumnsEffect, dropColumn, setNotNull } from './_lib.js'

/** Dify drops providers.credential_status (added by cf7c38a32b2d); we keep (id, credential_status) first. */
export const revision: Revision = {
  revision: '669ffd70119c',
  downRevision: '03f8dcbc611e',
  release: '1.10.0',
  description: 'introduce_trigger',
  mysql: false,
  dataEffects: [droppedColumnsEffect('669ffd70119c', 'providers', ['credential_status'])],
  statements: (dialect) => {
    if (dialect === 'mysql') return []
    return [
      ...createFromBaseline(dialect, 'app_triggers'),
      // plugin_id was VARCHAR(512) until 09cfdda155d1
      ...createFromBaseline(dialect, 'trigger_oauth_system_clients', {
        override: { plugin_id: { type: 'varchar(512)' } },
      }),
      ...createFromBaseline(dialect, 'trigger_oauth_tenant_clients'),
      ...createFromBaseline(dialect, 'trigger_subscriptions'),
      ...createFromBaseline(dialect, 'workflow_plugin_triggers'),
      ...createFromBaseline(dialect, 'workflow_schedule_plans'),
      ...createFromBaseline(dialect, 'workflow_trigger_logs'),
      ...createFromBaseline(dialect, 'workflow_webhook_triggers'),
      setNotNull(dialect, 'celery_taskmeta', 'task_id'),
      setNotNull(dialect, 'celery_taskmeta', 'status'),
      setNotNull(dialect, 'celery_tasksetmeta', 'taskset_id'),
      backupColumns(dialect, '669ffd70119c', 'providers', 'id', ['credential_status']),
      dropColumn(dialect, 'providers', 'credential_status'),
    ]
  },
}
