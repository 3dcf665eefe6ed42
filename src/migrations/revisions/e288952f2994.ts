import type { Revision } from '../types.js'
import { renderIndex } from '../baseline/render.js'

/**
 * Two indexes on conversations, built WITHOUT CONCURRENTLY as Dify does (SHARE lock on a big table: plan the
 * window, `db status` shows the row estimate). PG: partial `WHERE is_deleted IS false`; MySQL: SQLAlchemy drops
 * postgresql_where, so a plain index (with `created_at DESC` / `updated_at DESC`).
 */
export const revision: Revision = {
  revision: 'e288952f2994',
  downRevision: 'fce013ca180e',
  release: '1.13.1',
  description: 'add partial indexes on conversations for app_id with created_at and updated_at',
  statements: (dialect) => [
    ...renderIndex(dialect, 'conversations', {
      name: 'conversation_app_created_at_idx',
      columns: ['app_id', 'created_at DESC'],
      predicate: 'is_deleted IS false',
    }),
    ...renderIndex(dialect, 'conversations', {
      name: 'conversation_app_updated_at_idx',
      columns: ['app_id', 'updated_at DESC'],
      predicate: 'is_deleted IS false',
    }),
  ],
}
