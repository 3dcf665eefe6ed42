import type { Revision } from '../types.js'
import { ddl, sql, stmt } from '../compile.js'

/**
 * Data migration, then NOT NULL. An annotation without a question takes its message's query (or ''), the rest ''.
 * MySQL: Dify's alter_column renders `MODIFY question TEXT NOT NULL` (existing_type TEXT), which also turns the
 * column from LONGTEXT into TEXT; we do the same so the schema matches Dify's.
 */
export const revision: Revision = {
  revision: '9e6fa5cbcd80',
  downRevision: '288345cd01d1',
  release: '1.12.0',
  description: 'make message annotation question not nullable',
  statements: (dialect) => {
    const k = ddl(dialect)
    const table = 'message_annotations'
    const fromMessage = k
      .updateTable(table)
      .set({
        question: sql`(select coalesce(messages.query, '') from messages where messages.id = message_annotations.message_id)`,
      })
      .where(sql<boolean>`message_annotations.question is null and message_annotations.message_id is not null`)
    const rest = k
      .updateTable(table)
      .set({ question: sql`''` })
      .where(sql<boolean>`message_annotations.question is null`)
    const notNull =
      dialect === 'postgres'
        ? k.schema.alterTable(table).alterColumn('question', (c) => c.setNotNull())
        : k.schema.alterTable(table).modifyColumn('question', sql.raw('text'), (c) => c.notNull())
    return [stmt(dialect, fromMessage, { table }), stmt(dialect, rest, { table }), stmt(dialect, notNull, { table })]
  },
}
