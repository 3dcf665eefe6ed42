import type { Revision } from '../types.js'
import { renderTable } from '../baseline/render.js'
import type { ColumnSpec } from '../baseline/model.js'

const stamps: ColumnSpec[] = [
  { name: 'id', type: 'uuid', notNull: true },
  { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
  { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
]

/** Same on both dialects. */
export const revision: Revision = {
  revision: '8d4c2a1b9f03',
  downRevision: '121e7346074d',
  release: '1.15.0',
  description: 'Add human input upload token and file association tables',
  statements: (dialect) => [
    ...renderTable(dialect, {
      name: 'human_input_form_upload_tokens',
      columns: [
        ...stamps,
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'app_id', type: 'uuid', notNull: true },
        { name: 'form_id', type: 'uuid', notNull: true },
        { name: 'recipient_id', type: 'uuid', notNull: true },
        { name: 'token', type: 'varchar(255)', notNull: true },
      ],
      primaryKey: { name: 'human_input_form_upload_tokens_pkey', columns: ['id'] },
      uniques: [{ name: 'human_input_form_upload_tokens_token_key', columns: ['token'] }],
      indexes: [{ name: 'human_input_form_upload_tokens_form_id_idx', columns: ['form_id'] }],
    }),
    ...renderTable(dialect, {
      name: 'human_input_form_upload_files',
      columns: [
        ...stamps,
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'app_id', type: 'uuid', notNull: true },
        { name: 'form_id', type: 'uuid', notNull: true },
        { name: 'upload_file_id', type: 'uuid', notNull: true },
        { name: 'upload_token_id', type: 'uuid', notNull: true },
      ],
      primaryKey: { name: 'human_input_form_upload_files_pkey', columns: ['id'] },
      uniques: [{ name: 'human_input_form_upload_files_upload_file_id_key', columns: ['upload_file_id'] }],
      indexes: [
        { name: 'human_input_form_upload_files_form_id_idx', columns: ['form_id'] },
        { name: 'human_input_form_upload_files_upload_token_id_idx', columns: ['upload_token_id'] },
      ],
    }),
  ],
}
