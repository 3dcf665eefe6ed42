import type { Revision } from '../types.js'
import { renderTable } from '../baseline/render.js'

/**
 * PostgreSQL as in Dify 1.12.x (uuid_generate_v4() defaults, `'…'::character varying` defaults). On MySQL the
 * 1.12.x file fails (uuid_generate_v4() default); we follow the upstream fix of 1.13.0 (#32060): no uuid default
 * and plain literal defaults.
 */
export const revision: Revision = {
  revision: 'f9f6d18a37f9',
  downRevision: '9e6fa5cbcd80',
  release: '1.12.0',
  description: 'add table explore banner and trial',
  statements: (dialect) => [
    ...renderTable(dialect, {
      name: 'account_trial_app_records',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuid_generate_v4()' },
        { name: 'account_id', type: 'uuid', notNull: true },
        { name: 'app_id', type: 'uuid', notNull: true },
        { name: 'count', type: 'int', notNull: true },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'user_trial_app_pkey', columns: ['id'] },
      uniques: [{ name: 'unique_account_trial_app_record', columns: ['account_id', 'app_id'] }],
      indexes: [
        { name: 'account_trial_app_record_account_id_idx', columns: ['account_id'] },
        { name: 'account_trial_app_record_app_id_idx', columns: ['app_id'] },
      ],
    }),
    ...renderTable(dialect, {
      name: 'exporle_banners',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuid_generate_v4()' },
        { name: 'content', type: 'json', notNull: true },
        { name: 'link', type: 'varchar(255)', notNull: true },
        { name: 'sort', type: 'int', notNull: true },
        { name: 'status', type: 'varchar(255)', notNull: true, default: "'enabled'::character varying" },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'language', type: 'varchar(255)', notNull: true, default: "'en-US'::character varying" },
      ],
      primaryKey: { name: 'exporler_banner_pkey', columns: ['id'] },
    }),
    ...renderTable(dialect, {
      name: 'trial_apps',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuid_generate_v4()' },
        { name: 'app_id', type: 'uuid', notNull: true },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'trial_limit', type: 'int', notNull: true },
      ],
      primaryKey: { name: 'trial_app_pkey', columns: ['id'] },
      uniques: [{ name: 'unique_trail_app_id', columns: ['app_id'] }],
      indexes: [
        { name: 'trial_app_app_id_idx', columns: ['app_id'] },
        { name: 'trial_app_tenant_id_idx', columns: ['tenant_id'] },
      ],
    }),
  ],
}
