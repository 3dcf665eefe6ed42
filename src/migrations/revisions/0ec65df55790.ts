import type { Revision } from '../types.js'
import { renderIndex } from '../baseline/render.js'

/** Indexes for the human input tables (same on both dialects). */
export const revision: Revision = {
  revision: '0ec65df55790',
  downRevision: 'e288952f2994',
  release: '1.13.1',
  description: 'add indexes for human_input_forms query patterns',
  statements: (dialect) => [
    ...renderIndex(dialect, 'human_input_forms', {
      name: 'human_input_forms_workflow_run_id_node_id_idx',
      columns: ['workflow_run_id', 'node_id'],
    }),
    ...renderIndex(dialect, 'human_input_forms', {
      name: 'human_input_forms_status_created_at_idx',
      columns: ['status', 'created_at'],
    }),
    ...renderIndex(dialect, 'human_input_forms', {
      name: 'human_input_forms_status_expiration_time_idx',
      columns: ['status', 'expiration_time'],
    }),
    ...renderIndex(dialect, 'human_input_form_deliveries', {
      name: 'human_input_form_deliveries_form_id_idx',
      columns: ['form_id'],
    }),
    ...renderIndex(dialect, 'human_input_form_recipients', {
      name: 'human_input_form_recipients_delivery_id_idx',
      columns: ['delivery_id'],
    }),
    ...renderIndex(dialect, 'human_input_form_recipients', {
      name: 'human_input_form_recipients_form_id_idx',
      columns: ['form_id'],
    }),
  ],
}
