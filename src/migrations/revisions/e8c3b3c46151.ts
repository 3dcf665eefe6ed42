import type { Revision } from '../types.js'
import type { ColumnSpec } from '../baseline/model.js'
import { renderTable } from '../baseline/render.js'
import { addUnique } from '../ops.js'

const stamps: ColumnSpec[] = [
  { name: 'id', type: 'uuid', notNull: true },
  { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
  { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
]

/** Human-input tables. Same on both dialects (no `_is_pg` branch; `sa.Text` is TEXT on MySQL, not LONGTEXT). */
export const revision: Revision = {
  revision: 'e8c3b3c46151',
  downRevision: '788d3099ae3a',
  release: '1.13.0',
  description: 'Add human input related db models',
  statements: (dialect) => [
    ...renderTable(dialect, {
      name: 'execution_extra_contents',
      columns: [
        ...stamps,
        { name: 'type', type: 'varchar(30)', notNull: true },
        { name: 'workflow_run_id', type: 'uuid', notNull: true },
        { name: 'message_id', type: 'uuid' },
        { name: 'form_id', type: 'uuid' },
      ],
      primaryKey: { name: 'execution_extra_contents_pkey', columns: ['id'] },
      indexes: [
        { name: 'execution_extra_contents_message_id_idx', columns: ['message_id'] },
        { name: 'execution_extra_contents_workflow_run_id_idx', columns: ['workflow_run_id'] },
      ],
    }),
    ...renderTable(dialect, {
      name: 'human_input_form_deliveries',
      columns: [
        ...stamps,
        { name: 'form_id', type: 'uuid', notNull: true },
        { name: 'delivery_method_type', type: 'varchar(20)', notNull: true },
        { name: 'delivery_config_id', type: 'uuid' },
        { name: 'channel_payload', type: 'text', notNull: true },
      ],
      primaryKey: { name: 'human_input_form_deliveries_pkey', columns: ['id'] },
    }),
    ...renderTable(dialect, {
      name: 'human_input_form_recipients',
      columns: [
        ...stamps,
        { name: 'form_id', type: 'uuid', notNull: true },
        { name: 'delivery_id', type: 'uuid', notNull: true },
        { name: 'recipient_type', type: 'varchar(20)', notNull: true },
        { name: 'recipient_payload', type: 'text', notNull: true },
        { name: 'access_token', type: 'varchar(32)', notNull: true },
      ],
      primaryKey: { name: 'human_input_form_recipients_pkey', columns: ['id'] },
    }),
    addUnique(dialect, 'human_input_form_recipients', 'human_input_form_recipients_access_token_key', ['access_token']),
    ...renderTable(dialect, {
      name: 'human_input_forms',
      columns: [
        ...stamps,
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'app_id', type: 'uuid', notNull: true },
        { name: 'workflow_run_id', type: 'uuid' },
        { name: 'form_kind', type: 'varchar(20)', notNull: true },
        { name: 'node_id', type: 'varchar(60)', notNull: true },
        { name: 'form_definition', type: 'text', notNull: true },
        { name: 'rendered_content', type: 'text', notNull: true },
        { name: 'status', type: 'varchar(20)', notNull: true },
        { name: 'expiration_time', type: 'timestamp', notNull: true },
        { name: 'selected_action_id', type: 'varchar(200)' },
        { name: 'submitted_data', type: 'text' },
        { name: 'submitted_at', type: 'timestamp' },
        { name: 'submission_user_id', type: 'uuid' },
        { name: 'submission_end_user_id', type: 'uuid' },
        { name: 'completed_by_recipient_id', type: 'uuid' },
      ],
      primaryKey: { name: 'human_input_forms_pkey', columns: ['id'] },
    }),
  ],
}
