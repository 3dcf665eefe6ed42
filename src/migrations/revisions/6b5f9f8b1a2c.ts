import type { Query, Revision, SqlDialect, Statement } from '../types.js'
import { lit } from '../compile.js'
import { renderAddColumn, renderIndex } from '../baseline/render.js'
import { addColumnIfMissing, dropIfPresent, dropUnique, indexExists } from '../ops.js'

/**
 * `workflow_draft_variables.user_id`, and the unique key moves from (app_id, node_id, name) to
 * (app_id, user_id, node_id, name). PG builds the new unique index CONCURRENTLY outside a transaction (Alembic's
 * autocommit_block), MySQL plainly; then the old unique constraint is dropped.
 *
 * What we add (Dify has none of it): the ADD COLUMN is skipped when the column is already there and the old
 * constraint is dropped only while it exists, so a rerun after a partial run (on PG the ADD COLUMN is committed
 * before the CONCURRENTLY build; MySQL DDL commits each statement) can finish. A failed CONCURRENTLY
 * build leaves an INVALID index: it is dropped (before building, if an earlier run — ours or Dify's — left one, and
 * after a failure), and the failure names the duplicate rows that blocked the unique index.
 */
const TABLE = 'workflow_draft_variables'
export const NEW_INDEX = 'workflow_draft_variables_app_id_user_id_key'
const KEY = ['app_id', 'user_id', 'node_id', 'name']

/** the index's state in pg_index: null (absent), true (valid), false (INVALID, left by a failed CONCURRENTLY build) */
export async function pgIndexValid(q: Query, name: string): Promise<boolean | null> {
  const rows = await q(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ${lit('postgres', name)} AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`,
  )
  if (!rows.length) return null
  const v = rows[0]!.valid
  return v === true || v === 't'
}

/** key groups holding more than one row (user_id set; NULLs never collide), with their ids: what blocks the index */
export async function duplicateKeys(
  q: Query,
  dialect: SqlDialect,
  limit = 20,
): Promise<{ key: Record<string, string>; ids: string[] }[]> {
  const ids =
    dialect === 'postgres' ? `string_agg(id::text, ',' ORDER BY id)` : `GROUP_CONCAT(id ORDER BY id SEPARATOR ',')`
  const rows = await q(
    `SELECT ${KEY.join(', ')}, COUNT(*) AS n, ${ids} AS ids FROM ${TABLE} WHERE ${KEY.map((c) => `${c} IS NOT NULL`).join(' AND ')} GROUP BY ${KEY.join(', ')} HAVING COUNT(*) > 1 ORDER BY ${KEY.join(', ')} LIMIT ${limit}`,
  )
  return rows.map((r) => ({
    key: Object.fromEntries(KEY.map((c) => [c, String(r[c])])),
    ids: String(r.ids).split(','),
  }))
}

async function explain(q: Query, dialect: SqlDialect, error: unknown) {
  let dropped = false
  if (dialect === 'postgres' && (await pgIndexValid(q, NEW_INDEX).catch(() => null)) === false) {
    await q(`DROP INDEX CONCURRENTLY IF EXISTS ${NEW_INDEX}`)
    dropped = true
  }
  const dups = await duplicateKeys(q, dialect).catch(() => [])
  const reason = ((error as Error)?.message ?? String(error)).split('\n')[0]
  if (!dups.length) {
    return dropped
      ? {
          message: `Building the unique index ${NEW_INDEX} failed (${reason}); the INVALID index it left was dropped.`,
          hint: 'Fix the cause and run dify upgrade-db again; it resumes at this revision.',
          details: { invalidIndexDropped: true, duplicates: [] },
        }
      : undefined
  }
  const list = dups
    .slice(0, 5)
    .map((d) => `(${KEY.map((c) => `${c}=${d.key[c]}`).join(', ')}) ids ${d.ids.join(', ')}`)
    .join('; ')
  return {
    message: `The unique index ${NEW_INDEX} cannot be built: ${TABLE} has ${dups.length}${dups.length === 20 ? '+' : ''} duplicate (${KEY.join(', ')}) group(s): ${list}.${dropped ? ' The INVALID index the failed build left was dropped.' : ''}`,
    hint: `Delete or fix the duplicate ${TABLE} rows (keep one per key), then run dify upgrade-db again; it resumes at this revision.`,
    details: { invalidIndexDropped: dropped, duplicates: dups },
  }
}

export const revision: Revision = {
  revision: '6b5f9f8b1a2c',
  downRevision: '0ec65df55790',
  release: '1.13.1',
  description: 'add user_id and switch workflow_draft_variables unique key to user scope',
  statements: (dialect) => {
    const [add] = renderAddColumn(dialect, TABLE, { name: 'user_id', type: 'uuid' })
    const [index] = renderIndex(dialect, TABLE, { name: NEW_INDEX, unique: true, columns: KEY })
    let build: Statement
    if (dialect === 'postgres') {
      const text = index!.sql.replace(/^create unique index /, 'create unique index concurrently ')
      build = {
        sql: text,
        table: TABLE,
        noTransaction: true,
        run: async (q) => {
          const valid = await pgIndexValid(q, NEW_INDEX)
          if (valid === true) return // built by an earlier run whose next step failed
          if (valid === false) await q(`DROP INDEX CONCURRENTLY IF EXISTS ${NEW_INDEX}`)
          await q(text)
        },
        onError: (q, e) => explain(q, dialect, e),
      }
    } else {
      build = {
        ...index!,
        run: async (q) => {
          if (!(await indexExists(q, dialect, TABLE, NEW_INDEX))) await q(index!.sql)
        },
        onError: (q, e) => explain(q, dialect, e),
      }
    }
    const old = 'workflow_draft_variables_app_id_key'
    return [
      addColumnIfMissing(dialect, TABLE, add!, 'user_id'),
      build,
      dropIfPresent(dialect, TABLE, dropUnique(dialect, TABLE, old), old),
    ]
  },
}
