import pg from 'pg'
import { FIRST_WINDOW } from '../../src/dify/window.js'
import { scratchPg, type Scratch } from './scratch.js'
import { PG } from './services.js'

/**
 * A scratch PostgreSQL database holding only alembic_version at `revision` (default: the head of the supported
 * window): what a Redis-only writing command (queue purge, restore-unacked, account unlock, db lock clear) needs
 * for the release check every writing command runs.
 */
export async function alembicOnlyDb(tag: string, revision: string = FIRST_WINDOW.toHead): Promise<Scratch> {
  const s = await scratchPg(tag)
  const c = new pg.Client({ ...PG, database: s.name })
  await c.connect()
  await c.query('create table alembic_version (version_num varchar(32) not null primary key)')
  await c.query('insert into alembic_version values ($1)', [revision])
  await c.end()
  return s
}
