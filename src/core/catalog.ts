/**
 * Which tables the metadata database has, for the commands that must work on releases that lack some of Dify's
 * tables, and for our own bookkeeping tables (checkpoints, quarantine lists) that exist only after a first run.
 */
import { sql } from 'kysely'
import type { Db } from './db.js'

/**
 * The tables (and views) of the current schema the session may use, all of them or those among `names`.
 * PostgreSQL: what information_schema.tables lists, read from pg_class (the view costs ~4 ms on a fresh session's cold
 * catalog caches, this ~1 ms). MySQL: information_schema.tables of the connected database.
 */
export async function existingTables(db: Db, names?: readonly string[]): Promise<Set<string>> {
  if (names && !names.length) return new Set()
  const pgOnly = names ? sql`and c.relname in (${sql.join([...names])})` : sql``
  const myOnly = names ? sql`and table_name in (${sql.join([...names])})` : sql``
  const r =
    db.dialect === 'postgres'
      ? await sql<{ t: string }>`select c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = current_schema() and c.relkind in ('r', 'v', 'f', 'p') ${pgOnly}
            and (pg_has_role(c.relowner, 'USAGE')
              or has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
              or has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))`.execute(db.kysely)
      : await sql<{
          t: string
        }>`select table_name as t from information_schema.tables where table_schema = database() ${myOnly}`.execute(
          db.kysely,
        )
  return new Set(r.rows.map((x) => String(x.t)))
}

/** Does the table (or view) exist in the current schema? */
export async function tableExists(db: Db, name: string): Promise<boolean> {
  return (await existingTables(db, [name])).has(name)
}
