import type { Revision, SqlDialect } from '../types.js'
import { ddl, raw, sql, stmt } from '../compile.js'
import { addUnique } from '../ops.js'

/**
 * Dify keeps one tenant_default_models row per (tenant_id, model_type) — the latest `updated_at`, on a tie the
 * largest `id` — deletes the others, then adds the unique constraint (PG: DISTINCT ON; MySQL: a self-join; both
 * select the same rows since all four columns are NOT NULL and ids are unique). We delete exactly those rows, but
 * first copy them into `dify_ops_removed_tenant_default_models` (same columns + removed_at + revision), so nothing
 * is lost; the plan (`db status`, `--dry-run`) shows how many rows per tenant will move there.
 */
export const BACKUP_TABLE = 'dify_ops_removed_tenant_default_models'
const SOURCE = 'tenant_default_models'
const COLUMNS = ['id', 'tenant_id', 'provider_name', 'model_name', 'model_type', 'created_at', 'updated_at']

/** true for a row of `t` that another row of its (tenant_id, model_type) outranks: the rows Dify deletes */
const OUTRANKED = `EXISTS (SELECT 1 FROM ${SOURCE} k WHERE k.tenant_id = t.tenant_id AND k.model_type = t.model_type AND (k.updated_at > t.updated_at OR (k.updated_at = t.updated_at AND k.id > t.id)))`

function backupTable(dialect: SqlDialect) {
  const k = ddl(dialect)
  const t = (x: string) =>
    sql.raw(dialect === 'postgres' ? x : x.replace(/^uuid$/, 'char(36)').replace(/^timestamp$/, 'datetime'))
  return stmt(
    dialect,
    k.schema
      .createTable(BACKUP_TABLE)
      .ifNotExists()
      .addColumn('id', t('uuid'), (c) => c.notNull())
      .addColumn('tenant_id', t('uuid'), (c) => c.notNull())
      .addColumn('provider_name', t('varchar(255)'), (c) => c.notNull())
      .addColumn('model_name', t('varchar(255)'), (c) => c.notNull())
      .addColumn('model_type', t('varchar(40)'), (c) => c.notNull())
      .addColumn('created_at', t('timestamp'), (c) => c.notNull())
      .addColumn('updated_at', t('timestamp'), (c) => c.notNull())
      .addColumn('removed_at', t('timestamp'), (c) => c.notNull())
      .addColumn('removed_by_revision', t('varchar(32)'), (c) => c.notNull()),
    { table: BACKUP_TABLE },
  )
}

export const revision: Revision = {
  revision: 'f55813ffe2c8',
  downRevision: 'c3df22613c99',
  release: '1.13.0',
  description: 'add unique constraint to tenant_default_models',
  dataEffects: [
    {
      table: SOURCE,
      description: `deletes the duplicate rows per (tenant_id, model_type), all but the latest; they are copied to ${BACKUP_TABLE} first`,
      countSql: () => `SELECT count(*) AS n FROM ${SOURCE} t WHERE ${OUTRANKED}`,
      backupTable: BACKUP_TABLE,
      preview: {
        title: `tenant_default_models duplicates that will be removed (copied to ${BACKUP_TABLE} first), per tenant`,
        sql: () =>
          `SELECT t.tenant_id AS tenant_id, COUNT(*) AS rows_removed FROM ${SOURCE} t WHERE ${OUTRANKED} GROUP BY t.tenant_id ORDER BY t.tenant_id`,
      },
    },
  ],
  statements: (dialect) => {
    const k = ddl(dialect)
    const copy = k
      .insertInto(BACKUP_TABLE)
      .columns([...COLUMNS, 'removed_at', 'removed_by_revision'] as never)
      .expression(
        k
          .selectFrom(`${SOURCE} as t`)
          .select([
            ...COLUMNS.map((c) => sql.ref(`t.${c}`).as(c)),
            sql`CURRENT_TIMESTAMP`.as('removed_at'),
            sql.raw(`'f55813ffe2c8'`).as('removed_by_revision'),
          ] as never)
          .where(sql.raw<boolean>(OUTRANKED)),
      )
    // MySQL cannot DELETE from a table its own sub-select reads: a multi-table DELETE with the same condition
    const remove =
      dialect === 'postgres'
        ? stmt(dialect, k.deleteFrom(`${SOURCE} as t`).where(sql.raw<boolean>(OUTRANKED)), { table: SOURCE })
        : raw(
            `DELETE t FROM ${SOURCE} t JOIN ${SOURCE} k ON k.tenant_id = t.tenant_id AND k.model_type = t.model_type AND (k.updated_at > t.updated_at OR (k.updated_at = t.updated_at AND k.id > t.id))`,
            { table: SOURCE },
          )
    return [
      backupTable(dialect),
      stmt(dialect, copy, { table: SOURCE, lock: dialect === 'postgres' ? 'ACCESS SHARE' : 'row locks' }),
      remove,
      addUnique(dialect, SOURCE, 'unique_tenant_default_model_type', ['tenant_id', 'model_type']),
    ]
  },
}
