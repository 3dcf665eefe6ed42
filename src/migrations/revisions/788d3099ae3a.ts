import type { Revision } from '../types.js'
import { renderAddColumn, renderTable } from '../baseline/render.js'

/** Dify branches on the dialect: `summary_index_setting` is JSONB on PG, JSON on MySQL (AdjustedJSON); types per models.types. */
export const revision: Revision = {
  revision: '788d3099ae3a',
  downRevision: '9d77545f524e',
  release: '1.12.0',
  description: 'add summary index feature',
  statements: (dialect) => [
    ...renderTable(dialect, {
      name: 'document_segment_summaries',
      columns: [
        { name: 'id', type: 'uuid', notNull: true },
        { name: 'dataset_id', type: 'uuid', notNull: true },
        { name: 'document_id', type: 'uuid', notNull: true },
        { name: 'chunk_id', type: 'uuid', notNull: true },
        { name: 'summary_content', type: 'longtext' },
        { name: 'summary_index_node_id', type: 'varchar(255)' },
        { name: 'summary_index_node_hash', type: 'varchar(255)' },
        { name: 'tokens', type: 'int' },
        { name: 'status', type: 'varchar(32)', notNull: true, default: "'generating'::character varying" },
        { name: 'error', type: 'longtext' },
        { name: 'enabled', type: 'boolean', notNull: true, default: 'true' },
        { name: 'disabled_at', type: 'timestamp' },
        { name: 'disabled_by', type: 'uuid' },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'document_segment_summaries_pkey', columns: ['id'] },
      indexes: [
        { name: 'document_segment_summaries_chunk_id_idx', columns: ['chunk_id'] },
        { name: 'document_segment_summaries_dataset_id_idx', columns: ['dataset_id'] },
        { name: 'document_segment_summaries_document_id_idx', columns: ['document_id'] },
        { name: 'document_segment_summaries_status_idx', columns: ['status'] },
      ],
    }),
    ...renderAddColumn(dialect, 'datasets', { name: 'summary_index_setting', type: 'jsonb' }),
    ...renderAddColumn(dialect, 'documents', {
      name: 'need_summary',
      type: 'boolean',
      notNull: true,
      default: 'false',
    }),
  ],
}
