import { sql } from 'kysely'
import { expect } from 'vitest'
import type { Db } from '../../../src/core/db.js'

/** Rows for the data step of 9e6fa5cbcd80 (message_annotations.question NULL → message query or ''). Run at 288345cd01d1. */
const APP = '11111111-1111-4111-8111-111111111111'
const ACC = '22222222-2222-4222-8222-222222222222'
const CONV = '33333333-3333-4333-8333-333333333333'
const MSG = '44444444-4444-4444-8444-444444444444'
const GONE = '55555555-5555-4555-8555-555555555555'
const A = [
  'a0000000-0000-4000-8000-000000000001',
  'a0000000-0000-4000-8000-000000000002',
  'a0000000-0000-4000-8000-000000000003',
  'a0000000-0000-4000-8000-000000000004',
]

export async function seedAnnotations(db: Db): Promise<void> {
  await sql
    .raw(
      `INSERT INTO messages (id, app_id, conversation_id, inputs, query, message, message_unit_price, answer, answer_unit_price, currency, from_source)
       VALUES ('${MSG}', '${APP}', '${CONV}', '{}', 'What is Dify?', '{}', 0, 'An LLM app platform.', 0, 'USD', 'console')`,
    )
    .execute(db.kysely)
  const rows: [string, string | null, string | null][] = [
    [A[0]!, MSG, null], // from its message
    [A[1]!, GONE, null], // message gone: ''
    [A[2]!, null, null], // no message: ''
    [A[3]!, MSG, 'kept'], // already set
  ]
  for (const [id, msg, q] of rows) {
    await sql
      .raw(
        `INSERT INTO message_annotations (id, app_id, message_id, question, content, account_id)
         VALUES ('${id}', '${APP}', ${msg ? `'${msg}'` : 'NULL'}, ${q ? `'${q}'` : 'NULL'}, 'answer', '${ACC}')`,
      )
      .execute(db.kysely)
  }
}

export async function checkAnnotations(db: Db): Promise<void> {
  const r = await sql.raw(`SELECT id, question FROM message_annotations ORDER BY id`).execute(db.kysely)
  expect(r.rows).toEqual([
    { id: A[0], question: 'What is Dify?' },
    { id: A[1], question: '' },
    { id: A[2], question: '' },
    { id: A[3], question: 'kept' },
  ])
}
