import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { openDb } from '../../src/runtime/db.js'
import type { Db } from '../../src/core/db.js'
import type { DbConfig } from '../../src/config/schema.js'
import type { Revision, SqlDialect } from '../../src/migrations/types.js'
import { scratchMysql, scratchPg } from './scratch.js'
import { MYSQL, PG } from './services.js'

export type Engine = 'postgres' | 'mysql' | 'pglite'

export interface ScratchDb {
  engine: Engine
  name: string
  /** a fresh handle (pool) on the scratch database */
  open(): Promise<Db>
  drop(): Promise<void>
}

function cfg(type: DbConfig['type'], database: string, pgliteDir = ''): DbConfig {
  const s = type === 'mysql' ? MYSQL : PG
  return {
    type,
    embedded: false,
    host: s.host,
    port: s.port,
    user: s.user,
    password: '',
    database,
    pgOptions: '-c timezone=UTC',
    extras: {},
    pgliteDir,
  }
}

/** A scratch database on one engine: real PostgreSQL, real MariaDB, or an embedded PGlite directory. */
export async function scratchDb(engine: Engine, tag: string): Promise<ScratchDb> {
  if (engine === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), `dops-${tag}-`))
    return {
      engine,
      name: 'pglite',
      open: () => openDb(cfg('pglite', 'dify', dir), { connectTimeoutMs: 5000 }),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    }
  }
  const s = engine === 'postgres' ? await scratchPg(tag) : await scratchMysql(tag)
  const type = engine === 'postgres' ? 'postgresql' : 'mysql'
  return {
    engine,
    name: s.name,
    open: () => openDb(cfg(type, s.name), { connectTimeoutMs: 5000 }),
    drop: () => s.drop(),
  }
}

export async function versionsOf(db: Db): Promise<string[] | null> {
  const { readDbState } = await import('../../src/migrations/state.js')
  return (await readDbState(db)).versions
}

export async function tablesOf(db: Db): Promise<string[]> {
  const { readDbState } = await import('../../src/migrations/state.js')
  return (await readDbState(db)).otherTables
}

/** Columns and indexes of every table, as text: enough to prove "nothing changed". */
export async function schemaFingerprint(db: Db): Promise<string> {
  if (db.dialect === 'postgres') {
    const cols = await sql<{
      t: string
    }>`select table_name || '.' || column_name || ':' || data_type || ':' || is_nullable || ':' || coalesce(column_default, '') as t from information_schema.columns where table_schema = current_schema() order by 1`.execute(
      db.kysely,
    )
    const idx = await sql<{
      t: string
    }>`select indexdef as t from pg_indexes where schemaname = current_schema() order by 1`.execute(db.kysely)
    const ver = await versionsOf(db)
    return [...cols.rows.map((r) => r.t), ...idx.rows.map((r) => r.t), `version=${JSON.stringify(ver)}`].join('\n')
  }
  const cols = await sql<{
    t: string
  }>`select concat(table_name, '.', column_name, ':', column_type, ':', is_nullable, ':', coalesce(column_default, '')) as t from information_schema.columns where table_schema = database() order by 1`.execute(
    db.kysely,
  )
  const idx = await sql<{
    t: string
  }>`select concat(table_name, '.', index_name, ':', column_name) as t from information_schema.statistics where table_schema = database() order by 1`.execute(
    db.kysely,
  )
  const ver = await versionsOf(db)
  return [...cols.rows.map((r) => r.t), ...idx.rows.map((r) => r.t), `version=${JSON.stringify(ver)}`].join('\n')
}

export interface SynthOptions {
  /** make this revision fail at its second statement */
  failAt?: string
  /** add a slow statement (seconds) to this revision */
  slow?: { revision: string; seconds: number }
}

/**
 * A small registry with real Dify ids (so release look-ups work) and trivial DDL valid on PostgreSQL and MariaDB:
 * d57accd375ae (baseline) → 03ea244985ce → 7df29de0f6be (a CONCURRENTLY index on PG) → 905527cc8fd3.
 */
export function synthRegistry(o: SynthOptions = {}): Revision[] {
  const slow = (rev: string, d: SqlDialect) =>
    o.slow?.revision === rev
      ? [{ sql: d === 'postgres' ? `SELECT pg_sleep(${o.slow.seconds})` : `SELECT SLEEP(${o.slow.seconds})` }]
      : []
  const fail = (rev: string) =>
    o.failAt === rev ? [{ sql: 'ALTER TABLE no_such_table ADD COLUMN x INT', table: 'no_such_table' }] : []
  return [
    {
      revision: 'd57accd375ae',
      downRevision: null,
      release: '1.11.0',
      description: 'synthetic baseline',
      baseline: true,
      statements: (d) => [
        {
          sql: 'CREATE TABLE accounts (id VARCHAR(36) NOT NULL, name VARCHAR(255) NOT NULL, CONSTRAINT accounts_pkey PRIMARY KEY (id))',
          table: 'accounts',
        },
        ...fail('d57accd375ae'),
        {
          sql: 'CREATE TABLE apps (id VARCHAR(36) NOT NULL, tenant_id VARCHAR(36), CONSTRAINT apps_pkey PRIMARY KEY (id))',
          table: 'apps',
        },
        ...slow('d57accd375ae', d),
      ],
    },
    {
      revision: '03ea244985ce',
      downRevision: 'd57accd375ae',
      release: '1.11.2',
      description: 'add apps.kind',
      statements: (d) => [
        { sql: "ALTER TABLE apps ADD COLUMN kind VARCHAR(40) DEFAULT 'chat' NOT NULL", table: 'apps' },
        ...fail('03ea244985ce'),
        ...slow('03ea244985ce', d),
      ],
    },
    {
      revision: '7df29de0f6be',
      downRevision: '03ea244985ce',
      release: '1.11.3',
      description: 'index apps.tenant_id',
      statements: (d) => [
        d === 'postgres'
          ? { sql: 'CREATE INDEX CONCURRENTLY apps_tenant_idx ON apps (tenant_id)', table: 'apps', noTransaction: true }
          : { sql: 'CREATE INDEX apps_tenant_idx ON apps (tenant_id)', table: 'apps' },
        ...fail('7df29de0f6be'),
        ...slow('7df29de0f6be', d),
      ],
    },
    {
      revision: '905527cc8fd3',
      downRevision: '7df29de0f6be',
      release: '1.11.3',
      description: 'add summaries',
      statements: (d) => [
        {
          sql: 'CREATE TABLE summaries (id VARCHAR(36) NOT NULL, body TEXT, CONSTRAINT summaries_pkey PRIMARY KEY (id))',
          table: 'summaries',
        },
        ...fail('905527cc8fd3'),
        ...slow('905527cc8fd3', d),
      ],
    },
  ]
}

export const SYNTH_HEAD = '905527cc8fd3'
