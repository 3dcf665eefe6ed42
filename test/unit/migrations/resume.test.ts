import { describe, expect, it } from 'vitest'
import { statementEffect } from '../../../src/migrations/resume.js'
import { REVISION_LIST } from '../../../src/migrations/registry.js'

/** What a MySQL statement leaves in the schema (src/migrations/resume.ts), read from its SQL. */
describe('statementEffect', () => {
  it.each([
    ['create table `t` (`id` char(36) not null)', [{ kind: 'table', table: 't', present: true }]],
    ['CREATE TABLE IF NOT EXISTS summaries (id INT)', [{ kind: 'table', table: 'summaries', present: true }]],
    ['drop table `t`', [{ kind: 'table', table: 't', present: false }]],
    ['create unique index `i` on `t` (`a`)', [{ kind: 'index', index: 'i', table: 't', present: true }]],
    ['drop index `i` on `t`', [{ kind: 'index', index: 'i', table: 't', present: false }]],
    [
      'rename table `a` to `b`',
      [
        { kind: 'table', table: 'b', present: true },
        { kind: 'table', table: 'a', present: false },
      ],
    ],
    [
      "alter table `t` add column `a` int, add column `b` varchar(3) default 'x,y' not null",
      [
        { kind: 'column', table: 't', column: 'a', present: true },
        { kind: 'column', table: 't', column: 'b', present: true },
      ],
    ],
    [
      'alter table t add index `i` (a), drop column b',
      [
        { kind: 'index', table: 't', index: 'i', present: true },
        { kind: 'column', table: 't', column: 'b', present: false },
      ],
    ],
    ['alter table `t` add constraint `u` unique (`a`)', [{ kind: 'constraint', table: 't', name: 'u', present: true }]],
    ['alter table `t` drop foreign key `fk`', [{ kind: 'constraint', table: 't', name: 'fk', present: false }]],
    [
      'alter table `t` rename column `a` to `b`',
      [
        { kind: 'column', table: 't', column: 'b', present: true },
        { kind: 'column', table: 't', column: 'a', present: false },
      ],
    ],
    [
      'alter table `t` rename to `u`',
      [
        { kind: 'table', table: 'u', present: true },
        { kind: 'table', table: 't', present: false },
      ],
    ],
  ])('%s', (sql, effect) => expect(statementEffect(sql)).toEqual(effect))

  it.each([
    'alter table `t` modify column `q` text not null',
    'alter table `t` add column `a` int, modify column `q` text',
    "update `t` set `a` = '' where a is null",
    'insert into t values (1)',
  ])('%s cannot be read from the schema', (sql) => expect(statementEffect(sql)).toBeNull())

  // the others are repeatable (data steps, MODIFY, ALTER COLUMN … DROP/SET DEFAULT, code steps shown as a comment)
  it("every statement of the registry's MySQL revisions after the baseline has a readable effect, or is repeatable", () => {
    for (const r of REVISION_LIST.filter((x) => !x.baseline))
      for (const st of r.statements('mysql'))
        if (!statementEffect(st.sql))
          expect(st.sql).toMatch(/^(update|delete|insert|--|alter table \S+ (modify|alter) column)/i)
  })
})
