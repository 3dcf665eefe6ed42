import type { Revision } from '../types.js'
import { renderTable } from '../baseline/render.js'

/**
 * Device-flow OAuth tokens. PG: `id` defaults to `uuidv7()`, partial indexes `WHERE revoked_at IS NULL`; MySQL:
 * no id default, the predicates are dropped (plain indexes), and the unique per-device index uses 191-character
 * prefixes of the three VARCHAR(255) columns (Dify's `mysql_length`).
 */
export const revision: Revision = {
  revision: 'd4a5e1f3c9b7',
  downRevision: '97e2e1a644e8',
  release: '1.15.0',
  description: 'add oauth_access_tokens table',
  statements: (dialect) =>
    renderTable(dialect, {
      name: 'oauth_access_tokens',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuidv7()' },
        { name: 'subject_email', type: 'varchar(255)', notNull: true },
        { name: 'subject_issuer', type: 'varchar(255)' },
        { name: 'account_id', type: 'uuid' },
        { name: 'client_id', type: 'varchar(64)', notNull: true },
        { name: 'device_label', type: 'varchar(255)', notNull: true },
        { name: 'prefix', type: 'varchar(8)', notNull: true },
        { name: 'token_hash', type: 'varchar(64)' },
        { name: 'created_at', type: 'timestamptz', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'last_used_at', type: 'timestamptz' },
        { name: 'expires_at', type: 'timestamptz', notNull: true },
        { name: 'revoked_at', type: 'timestamptz' },
      ],
      primaryKey: { name: 'oauth_access_tokens_pkey', columns: ['id'] },
      foreignKeys: [
        {
          name: 'fk_oauth_access_tokens_account_id',
          columns: ['account_id'],
          refTable: 'accounts',
          refColumns: ['id'],
          onDelete: 'set null',
        },
      ],
      uniques: [{ name: 'oauth_access_tokens_token_hash_key', columns: ['token_hash'] }],
      indexes: [
        { name: 'idx_oauth_subject_email', columns: ['subject_email'], predicate: 'revoked_at IS NULL' },
        {
          name: 'idx_oauth_account',
          columns: ['account_id'],
          predicate: 'revoked_at IS NULL AND account_id IS NOT NULL',
        },
        { name: 'idx_oauth_client', columns: ['subject_email', 'client_id'], predicate: 'revoked_at IS NULL' },
        { name: 'idx_oauth_token_hash', columns: ['token_hash'], predicate: 'revoked_at IS NULL' },
        {
          name: 'uq_oauth_active_per_device',
          unique: true,
          columns: ['subject_email', 'subject_issuer', 'client_id', 'device_label'],
          predicate: 'revoked_at IS NULL',
          mysql: { columns: ['subject_email(191)', 'subject_issuer(191)', 'client_id', 'device_label(191)'] },
        },
      ],
    }),
}
