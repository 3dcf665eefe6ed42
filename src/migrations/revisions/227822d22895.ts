import type { Revision } from '../types.js'
import { renderTable } from '../baseline/render.js'

/** Workflow comments (same on both dialects; `sa.Float` is FLOAT on MySQL, `sa.Text` TEXT). */
export const revision: Revision = {
  revision: '227822d22895',
  downRevision: '8574b23a38fd',
  release: '1.14.0',
  description: 'Add workflow comments table',
  statements: (dialect) => [
    ...renderTable(dialect, {
      name: 'workflow_comments',
      columns: [
        { name: 'id', type: 'uuid', notNull: true },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'app_id', type: 'uuid', notNull: true },
        { name: 'position_x', type: 'float', notNull: true },
        { name: 'position_y', type: 'float', notNull: true },
        { name: 'content', type: 'text', notNull: true },
        { name: 'created_by', type: 'uuid', notNull: true },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'resolved', type: 'boolean', notNull: true, default: 'false' },
        { name: 'resolved_at', type: 'timestamp' },
        { name: 'resolved_by', type: 'uuid' },
      ],
      primaryKey: { name: 'workflow_comments_pkey', columns: ['id'] },
      indexes: [
        { name: 'workflow_comments_app_idx', columns: ['tenant_id', 'app_id'] },
        { name: 'workflow_comments_created_at_idx', columns: ['created_at'] },
      ],
    }),
    ...renderTable(dialect, {
      name: 'workflow_comment_replies',
      columns: [
        { name: 'id', type: 'uuid', notNull: true },
        { name: 'comment_id', type: 'uuid', notNull: true },
        { name: 'content', type: 'text', notNull: true },
        { name: 'created_by', type: 'uuid', notNull: true },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'workflow_comment_replies_pkey', columns: ['id'] },
      foreignKeys: [
        {
          name: 'workflow_comment_replies_comment_id_fkey',
          columns: ['comment_id'],
          refTable: 'workflow_comments',
          refColumns: ['id'],
          onDelete: 'cascade',
        },
      ],
      indexes: [
        { name: 'comment_replies_comment_idx', columns: ['comment_id'] },
        { name: 'comment_replies_created_at_idx', columns: ['created_at'] },
      ],
    }),
    ...renderTable(dialect, {
      name: 'workflow_comment_mentions',
      columns: [
        { name: 'id', type: 'uuid', notNull: true },
        { name: 'comment_id', type: 'uuid', notNull: true },
        { name: 'reply_id', type: 'uuid' },
        { name: 'mentioned_user_id', type: 'uuid', notNull: true },
      ],
      primaryKey: { name: 'workflow_comment_mentions_pkey', columns: ['id'] },
      foreignKeys: [
        {
          name: 'workflow_comment_mentions_comment_id_fkey',
          columns: ['comment_id'],
          refTable: 'workflow_comments',
          refColumns: ['id'],
          onDelete: 'cascade',
        },
        {
          name: 'workflow_comment_mentions_reply_id_fkey',
          columns: ['reply_id'],
          refTable: 'workflow_comment_replies',
          refColumns: ['id'],
          onDelete: 'cascade',
        },
      ],
      indexes: [
        { name: 'comment_mentions_comment_idx', columns: ['comment_id'] },
        { name: 'comment_mentions_reply_idx', columns: ['reply_id'] },
        { name: 'comment_mentions_user_idx', columns: ['mentioned_user_id'] },
      ],
    }),
  ],
}
