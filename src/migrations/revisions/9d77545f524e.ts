import type { Revision } from '../types.js'
import { renderTable } from '../baseline/render.js'

/** Dify branches on the dialect: PG gets `uuidv7()` as the id default, MySQL none (ids from the application). */
export const revision: Revision = {
  revision: '9d77545f524e',
  downRevision: 'f9f6d18a37f9',
  release: '1.12.0',
  description: 'add workflow archive logs',
  statements: (dialect) =>
    renderTable(dialect, {
      name: 'workflow_archive_logs',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuidv7()' },
        { name: 'log_id', type: 'uuid' },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'app_id', type: 'uuid', notNull: true },
        { name: 'workflow_id', type: 'uuid', notNull: true },
        { name: 'workflow_run_id', type: 'uuid', notNull: true },
        { name: 'created_by_role', type: 'varchar(255)', notNull: true },
        { name: 'created_by', type: 'uuid', notNull: true },
        { name: 'log_created_at', type: 'timestamp' },
        { name: 'log_created_from', type: 'varchar(255)' },
        { name: 'run_version', type: 'varchar(255)', notNull: true },
        { name: 'run_status', type: 'varchar(255)', notNull: true },
        { name: 'run_triggered_from', type: 'varchar(255)', notNull: true },
        { name: 'run_error', type: 'longtext' },
        { name: 'run_elapsed_time', type: 'float', notNull: true, default: '0' },
        { name: 'run_total_tokens', type: 'bigint', notNull: true, default: '0' },
        { name: 'run_total_steps', type: 'int', default: '0' },
        { name: 'run_created_at', type: 'timestamp', notNull: true },
        { name: 'run_finished_at', type: 'timestamp' },
        { name: 'run_exceptions_count', type: 'int', default: '0' },
        { name: 'trigger_metadata', type: 'longtext' },
        { name: 'archived_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'workflow_archive_log_pkey', columns: ['id'] },
      indexes: [
        { name: 'workflow_archive_log_app_idx', columns: ['tenant_id', 'app_id'] },
        { name: 'workflow_archive_log_run_created_at_idx', columns: ['run_created_at'] },
        { name: 'workflow_archive_log_workflow_run_id_idx', columns: ['workflow_run_id'] },
      ],
    }),
}
