import { describe, expect, it } from 'vitest'
import {
  mysqlAutoIncrement,
  mysqlDefault,
  mysqlType,
  pgType,
  renderIndex,
  renderTable,
} from '../../../src/migrations/baseline/render.js'
import { BASELINE_SCHEMA } from '../../../src/migrations/baseline/schema.js'
import { REVISION_LIST } from '../../../src/migrations/registry.js'
import { toSql, ddl } from '../../../src/migrations/compile.js'
import { sql } from 'kysely'

describe('logical types and MySQL rules', () => {
  it.each([
    ['uuid', 'uuid', 'char(36)'],
    ['varchar', 'varchar', 'varchar(255)'],
    ['varchar(40)', 'varchar(40)', 'varchar(40)'],
    ['longtext', 'text', 'longtext'],
    ['text', 'text', 'text'],
    ['jsonb', 'jsonb', 'json'],
    ['boolean', 'boolean', 'tinyint(1)'],
    ['float', 'double precision', 'float'],
    ['numeric', 'numeric', 'decimal(10,0)'],
    ['numeric(10,7)', 'numeric(10,7)', 'decimal(10,7)'],
    ['timestamp', 'timestamp', 'datetime'],
    ['bytea', 'bytea', 'longblob'],
  ])('%s → PG %s, MySQL %s', (logical, pg, my) => {
    expect(pgType(logical)).toBe(pg)
    expect(mysqlType({ name: 'c', type: logical })).toBe(my)
  })

  it.each([
    ['uuid', 'uuid_generate_v4()', null],
    ['uuid', 'uuidv7()', null],
    ['varchar(16)', "'active'::character varying", "'active'"],
    ['longtext', "'{}'::text", null],
    ['json', "'[]'::json", null],
    ['int', "'-1'::integer", '-1'],
    ['timestamp', 'CURRENT_TIMESTAMP(0)', 'CURRENT_TIMESTAMP'],
    ['timestamp', 'now()', 'CURRENT_TIMESTAMP'],
    ['boolean', 'true', '1'],
    ['boolean', 'false', '0'],
    ['float', '0.001', '0.001'],
    ['int', "nextval('task_id_sequence'::regclass)", null],
  ])('%s default %s → MySQL %s', (type, d, my) => {
    expect(mysqlDefault({ name: 'c', type, default: d })).toBe(my)
  })

  it('nextval and serial become AUTO_INCREMENT; an explicit exception wins over a rule', () => {
    expect(mysqlAutoIncrement({ name: 'id', type: 'int', default: "nextval('s'::regclass)" })).toBe(true)
    expect(mysqlAutoIncrement({ name: 'id', type: 'serial' })).toBe(true)
    expect(
      mysqlDefault({ name: 'c', type: 'varchar(5)', default: "'x'::character varying", mysql: { default: null } }),
    ).toBeNull()
    expect(mysqlType({ name: 'c', type: 'text', mysql: { type: 'mediumtext' } })).toBe('mediumtext')
  })
})

describe('rendering', () => {
  it('gin indexes are PostgreSQL only', () => {
    const i = { name: 'retrieval_model_idx', columns: ['retrieval_model'], method: 'gin' }
    expect(renderIndex('postgres', 'datasets', i).map((s) => s.sql)).toEqual([
      'create index "retrieval_model_idx" on "datasets" using gin ("retrieval_model")',
    ])
    expect(renderIndex('mysql', 'datasets', i)).toEqual([])
  })

  it('renders a table for both dialects', () => {
    const t = {
      name: 'x',
      columns: [
        { name: 'id', type: 'uuid', notNull: true, default: 'uuid_generate_v4()' },
        { name: 'n', type: 'varchar(8)', notNull: true, default: "'a'::character varying", comment: "it's" },
      ],
      primaryKey: { name: 'x_pkey', columns: ['id'] },
      indexes: [{ name: 'x_n_idx', columns: ['n', 'id DESC'] }],
    }
    expect(renderTable('postgres', t).map((s) => s.sql)).toEqual([
      `create table "x" ("id" uuid default uuid_generate_v4() not null, "n" varchar(8) default 'a'::character varying not null, constraint "x_pkey" primary key ("id"))`,
      'create index "x_n_idx" on "x" ("n", "id" desc)',
      "COMMENT ON COLUMN x.n IS 'it''s'",
    ])
    expect(renderTable('mysql', t).map((s) => s.sql)).toEqual([
      "create table `x` (`id` char(36) not null, `n` varchar(8) default 'a' not null comment 'it''s', constraint `x_pkey` primary key (`id`))",
      'create index `x_n_idx` on `x` (`n`, `id` desc)',
    ])
  })

  it('the baseline creates everything but alembic_version, which belongs to the runner', () => {
    expect(BASELINE_SCHEMA.tables.some((t) => t.name === 'alembic_version')).toBe(false)
    for (const d of ['postgres', 'mysql'] as const) {
      for (const r of REVISION_LIST) for (const s of r.statements(d)) expect(s.sql).not.toMatch(/alembic_version/i)
    }
  })

  it('refuses builders that need bind parameters', () => {
    const q = ddl('postgres').updateTable('t').set({ a: 'value' })
    expect(() => toSql('postgres', q)).toThrow(/bind parameters/)
    expect(
      toSql(
        'mysql',
        ddl('mysql')
          .updateTable('t')
          .set({ a: sql`''` }),
      ),
    ).toBe("update `t` set `a` = ''")
  })
})
