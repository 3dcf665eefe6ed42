import type { Revision } from '../types.js'
import { renderAddColumn, renderIndex } from '../baseline/render.js'
import { alterType, createFromBaseline } from './_lib.js'

/** documents.doc_metadata json → jsonb (the assignment cast, no USING, as Dify), then a GIN index on it. */
export const revision: Revision = {
  revision: 'd20049ed0af6',
  downRevision: 'f051706725cc',
  release: '1.1.0',
  description: 'add_metadata_function',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          ...createFromBaseline(dialect, 'dataset_metadata_bindings'),
          ...createFromBaseline(dialect, 'dataset_metadatas'),
          ...renderAddColumn(dialect, 'datasets', {
            name: 'built_in_field_enabled',
            type: 'boolean',
            notNull: true,
            default: 'false',
          }),
          alterType(dialect, 'documents', 'doc_metadata', 'jsonb'),
          ...renderIndex(dialect, 'documents', {
            name: 'document_metadata_idx',
            columns: ['doc_metadata'],
            method: 'gin',
          }),
        ],
}
