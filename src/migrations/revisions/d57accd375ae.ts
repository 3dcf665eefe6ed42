import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'
import { createFromBaseline } from './_lib.js'

/** The STEP 7bb281b7a422 → d57accd375ae (an empty database gets d57accd375ae from the baseline instead). */
export const revision: Revision = {
  revision: 'd57accd375ae',
  downRevision: '7bb281b7a422',
  release: '1.11.0',
  description: 'support-multi-modal',
  statements: (dialect) => [
    ...createFromBaseline(dialect, 'segment_attachment_bindings', {
      indexes: [
        'segment_attachment_binding_tenant_dataset_document_segment_idx',
        'segment_attachment_binding_attachment_idx',
      ],
    }),
    ...renderAddColumn(dialect, 'datasets', {
      name: 'is_multimodal',
      type: 'boolean',
      notNull: true,
      default: 'false',
    }),
  ],
}
