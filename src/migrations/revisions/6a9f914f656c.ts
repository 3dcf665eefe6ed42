import type { Revision } from '../types.js'
import { renderIndex } from '../baseline/render.js'
import { dropIndex } from './_lib.js'

export const revision: Revision = {
  revision: '6a9f914f656c',
  downRevision: 'd20049ed0af6',
  release: '1.2.0',
  description: 'change documentsegment and childchunk indexes',
  mysql: false,
  statements: (dialect) =>
    dialect === 'mysql'
      ? []
      : [
          ...renderIndex(dialect, 'child_chunks', {
            name: 'child_chunks_node_idx',
            columns: ['index_node_id', 'dataset_id'],
          }),
          ...renderIndex(dialect, 'child_chunks', { name: 'child_chunks_segment_idx', columns: ['segment_id'] }),
          dropIndex(dialect, 'document_segments', 'document_segment_dataset_node_idx'),
          ...renderIndex(dialect, 'document_segments', {
            name: 'document_segment_node_dataset_idx',
            columns: ['index_node_id', 'dataset_id'],
          }),
        ],
}
