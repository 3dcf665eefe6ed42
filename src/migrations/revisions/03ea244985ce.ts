import type { Revision } from '../types.js'
import { renderAddColumn } from '../baseline/render.js'

export const revision: Revision = {
  revision: '03ea244985ce',
  downRevision: 'd57accd375ae',
  release: '1.11.2',
  description: 'add type column not null default tool',
  statements: (dialect) =>
    renderAddColumn(dialect, 'pipeline_recommended_plugins', {
      name: 'type',
      type: 'varchar(50)',
      notNull: true,
      default: "'tool'::character varying",
    }),
}
