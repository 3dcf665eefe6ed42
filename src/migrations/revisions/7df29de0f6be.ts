import type { Revision } from '../types.js'
import { renderTable } from '../baseline/render.js'

/**
 * MySQL: Dify 1.12.x's file gave `id` a `uuid_generate_v4()` default on every dialect, which fails on MySQL; the
 * file was fixed upstream in 1.13.0 (#31304: no uuid default, ids come from the application). We follow the fix.
 */
export const revision: Revision = {
  revision: '7df29de0f6be',
  downRevision: '03ea244985ce',
  release: '1.11.3',
  description: 'add credit pool',
  statements: (dialect) =>
    renderTable(dialect, {
      name: 'tenant_credit_pools',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuid_generate_v4()' },
        { name: 'tenant_id', type: 'uuid', notNull: true },
        { name: 'pool_type', type: 'varchar(40)', notNull: true, default: "'trial'::character varying" },
        { name: 'quota_limit', type: 'bigint', notNull: true },
        { name: 'quota_used', type: 'bigint', notNull: true },
        { name: 'created_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
        { name: 'updated_at', type: 'timestamp', notNull: true, default: 'CURRENT_TIMESTAMP' },
      ],
      primaryKey: { name: 'tenant_credit_pool_pkey', columns: ['id'] },
      indexes: [
        { name: 'tenant_credit_pool_pool_type_idx', columns: ['pool_type'] },
        { name: 'tenant_credit_pool_tenant_id_idx', columns: ['tenant_id'] },
      ],
    }),
}
