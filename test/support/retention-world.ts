/**
 * A seeded Dify database for `dify retention`: a release schema (loadRelease) with workflow runs, node executions,
 * offloads, app logs, pauses, trigger logs, human-input forms, messages with files/feedback/…, conversations, on
 * both sides of the cut-off (60 days old vs 1 day old; the tests cut at 30 days), plus an old running run and an
 * old paused run. Values carry exact text (unicode, JSON spacing, microseconds on PostgreSQL) so a restore can be
 * compared byte for byte.
 */
import { randomUUID } from 'node:crypto'
import { connectScratch, scratchMysql, scratchPg, type Scratch } from './scratch.js'
import { loadRelease } from './oracles.js'
import { RETENTION_ROOTS, walk } from '../../src/dify/retention-map.js'

export interface RetentionWorld {
  scratch: Scratch
  dialect: 'postgres' | 'mysql'
  env: Record<string, string>
  query(text: string, params?: unknown[]): Promise<Array<Record<string, any>>>
  insert(table: string, values: Record<string, unknown>): Promise<string>
  has(table: string): Promise<boolean>
  tenant: string
  app: string
  /** ids by role */
  runs: { oldClosed: string[]; oldRunning: string; oldPaused: string; young: string }
  messages: { old: string[]; young: string[] }
  conversations: { oldOnly: string; oldWithYoung: string; young: string }
  annotation: string
  close(): Promise<void>
}

const DAY = 86_400_000
export const MAP_TABLES = [...new Set(RETENTION_ROOTS.flatMap((r) => walk(r).map((x) => x.t.table)))]

function ts(dialect: string, daysAgo: number, n: number): string {
  const d = new Date(Date.UTC(2026, 0, 1) + n * 1000)
  const base = new Date(Date.now() - daysAgo * DAY)
  base.setUTCHours(d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), 0)
  const s = base.toISOString().replace('T', ' ').slice(0, 19)
  return dialect === 'postgres' ? `${s}.${String(123456 + n).padStart(6, '0')}` : s
}

function filler(type: string): unknown {
  if (type === 'uuid' || type === 'char') return randomUUID()
  if (/char|text/.test(type)) return '{"k": "välue ✓"}'
  if (/int|numeric|decimal|double|real|float/.test(type)) return 1
  if (type === 'boolean' || type === 'tinyint') return 0
  if (/timestamp|date/.test(type)) return '2026-01-02 03:04:05'
  if (/json/.test(type)) return '{"a":  [1, 2]}'
  return 'x'
}

export async function retentionWorld(
  tag: string,
  dialect: 'postgres' | 'mysql',
  release: string,
): Promise<RetentionWorld> {
  const scratch = dialect === 'postgres' ? await scratchPg(tag) : await scratchMysql(tag)
  await loadRelease(scratch, dialect, release)
  const { query, end } = await connectScratch(scratch)
  const schema = dialect === 'postgres' ? 'current_schema()' : 'database()'
  const cols = new Map<
    string,
    Array<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null }>
  >()
  const colsOf = async (table: string) => {
    if (!cols.has(table))
      cols.set(
        table,
        (await query(
          `select column_name as column_name, data_type as data_type, is_nullable as is_nullable, column_default as column_default from information_schema.columns where table_schema = ${schema} and table_name = $1`,
          [table],
        )) as any,
      )
    return cols.get(table)!
  }
  const has = async (table: string) => (await colsOf(table)).length > 0
  let n = 0
  const insert = async (table: string, values: Record<string, unknown>): Promise<string> => {
    const cs = await colsOf(table)
    if (!cs.length) throw new Error(`no table ${table}`)
    const row: Record<string, unknown> = { ...values }
    if (!('id' in row)) row.id = randomUUID()
    for (const c of cs) {
      if (c.column_name in row) continue
      if (c.is_nullable === 'YES' && !/text|json/.test(c.data_type)) continue
      if (c.column_name === 'created_at' || c.column_name === 'updated_at') continue
      row[c.column_name] = filler(c.data_type)
    }
    if (cs.some((c) => c.column_name === 'created_at') && !('created_at' in row)) row.created_at = ts(dialect, 1, n++)
    if (cs.some((c) => c.column_name === 'updated_at') && !('updated_at' in row)) row.updated_at = row.created_at
    const keys = Object.keys(row)
    await query(
      `insert into ${table} (${keys.map((c) => `"${c}"`).join(',')}) values (${keys.map((_, i) => `$${i + 1}`).join(',')})`,
      keys.map((c) => row[c]),
    )
    return String(row.id)
  }
  const tenant = randomUUID()
  const app = randomUUID()
  await insert('tenants', { id: tenant, name: 'retention' })
  await insert('apps', { id: app, tenant_id: tenant, name: 'retention app' })
  const old = () => ts(dialect, 60, n++)
  const young = () => ts(dialect, 1, n++)

  const run = async (status: string, at: string) => {
    const id = await insert('workflow_runs', {
      tenant_id: tenant,
      app_id: app,
      status,
      created_at: at,
      graph: '{"nodes": ["ü"]}',
    })
    for (let i = 0; i < 2; i++) {
      const ne = await insert('workflow_node_executions', {
        tenant_id: tenant,
        app_id: app,
        workflow_run_id: id,
        created_at: at,
        outputs: `{"i": ${i}, "s": "✓"}`,
      })
      if (await has('workflow_node_execution_offload'))
        await insert('workflow_node_execution_offload', {
          tenant_id: tenant,
          app_id: app,
          node_execution_id: ne,
          type: i ? 'outputs' : 'inputs',
          file_id: randomUUID(),
          created_at: at,
        })
    }
    await insert('workflow_app_logs', { tenant_id: tenant, app_id: app, workflow_run_id: id, created_at: at })
    if (await has('workflow_trigger_logs'))
      await insert('workflow_trigger_logs', { tenant_id: tenant, app_id: app, workflow_run_id: id, created_at: at })
    if (await has('human_input_forms')) {
      const form = await insert('human_input_forms', {
        tenant_id: tenant,
        app_id: app,
        workflow_run_id: id,
        created_at: at,
      })
      const del = await insert('human_input_form_deliveries', { form_id: form, created_at: at })
      await insert('human_input_form_recipients', {
        form_id: form,
        delivery_id: del,
        created_at: at,
        access_token: randomUUID().replace(/-/g, ''),
      })
      if (await has('human_input_form_upload_tokens')) {
        const tok = await insert('human_input_form_upload_tokens', {
          tenant_id: tenant,
          app_id: app,
          form_id: form,
          created_at: at,
          token: randomUUID(),
        })
        await insert('human_input_form_upload_files', {
          tenant_id: tenant,
          app_id: app,
          form_id: form,
          upload_token_id: tok,
          upload_file_id: randomUUID(),
          created_at: at,
        })
      }
      await insert('execution_extra_contents', { workflow_run_id: id, form_id: form, created_at: at })
    }
    return id
  }
  const pause = async (runId: string, at: string) => {
    if (!(await has('workflow_pauses'))) return
    const p = await insert('workflow_pauses', { workflow_run_id: runId, created_at: at })
    if (await has('workflow_pause_reasons')) await insert('workflow_pause_reasons', { pause_id: p, created_at: at })
  }
  const oldClosed: string[] = []
  for (const s of ['succeeded', 'failed', 'partial-succeeded', 'stopped', 'succeeded'])
    oldClosed.push(await run(s, old()))
  await pause(oldClosed[3]!, old()) // paused once, then stopped: closed
  const oldRunning = await run('running', old())
  const oldPaused = await run('paused', old())
  await pause(oldPaused, old())
  const youngRun = await run('succeeded', young())

  const conv = async (at: string) => {
    const id = await insert('conversations', { app_id: app, created_at: at, updated_at: at, inputs: '{"x":  "ÿ"}' })
    await insert('pinned_conversations', { app_id: app, conversation_id: id, created_at: at })
    await insert('workflow_conversation_variables', {
      app_id: app,
      conversation_id: id,
      data: '{"v": 1}',
      created_at: at,
      updated_at: at,
    })
    await insert('tool_conversation_variables', {
      tenant_id: tenant,
      conversation_id: id,
      created_at: at,
      updated_at: at,
    })
    return id
  }
  const message = async (conversation: string, at: string, runId: string | null) => {
    const id = await insert('messages', {
      app_id: app,
      conversation_id: conversation,
      created_at: at,
      updated_at: at,
      query: 'q ✓',
      message: '{"m":  "é"}',
      answer: 'a',
      workflow_run_id: runId,
    })
    await insert('message_files', { message_id: id, upload_file_id: randomUUID(), created_at: at })
    await insert('message_feedbacks', {
      app_id: app,
      conversation_id: conversation,
      message_id: id,
      rating: 'like',
      created_at: at,
      updated_at: at,
    })
    await insert('message_chains', { message_id: id, created_at: at })
    await insert('message_agent_thoughts', { message_id: id, created_at: at, position: 1 })
    await insert('saved_messages', { app_id: app, message_id: id, created_at: at })
    await insert('app_annotation_hit_histories', {
      app_id: app,
      message_id: id,
      annotation_id: randomUUID(),
      created_at: at,
    })
    await insert('dataset_retriever_resources', { message_id: id, created_at: at })
    if (runId && (await has('execution_extra_contents')))
      await insert('execution_extra_contents', { message_id: id, workflow_run_id: runId, created_at: at })
    return id
  }
  const cOld = await conv(old())
  const cMixed = await conv(old())
  const cYoung = await conv(young())
  const mOld = [
    await message(cOld, old(), oldClosed[0]!),
    await message(cOld, old(), null),
    await message(cMixed, old(), null),
  ]
  const mYoung = [await message(cMixed, young(), null), await message(cYoung, young(), youngRun)]
  const annotation = await insert('message_annotations', {
    app_id: app,
    conversation_id: cOld,
    message_id: mOld[0],
    question: 'q',
    content: 'a',
    created_at: old(),
    updated_at: old(),
  })
  return {
    scratch,
    dialect,
    env: scratch.env,
    query,
    insert,
    has,
    tenant,
    app,
    runs: { oldClosed, oldRunning, oldPaused, young: youngRun },
    messages: { old: mOld, young: mYoung },
    conversations: { oldOnly: cOld, oldWithYoung: cMixed, young: cYoung },
    annotation,
    async close() {
      await end()
      await scratch.drop()
    },
  }
}

/** Every row of `tables` as exact text, ordered by primary key: the byte-for-byte comparison of the tests. */
export async function dumpTables(w: RetentionWorld, tables: string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {}
  for (const t of tables) {
    if (!(await w.has(t))) continue
    if (w.dialect === 'postgres') {
      const rows = await w.query(`select t::text as r from "${t}" t order by t::text`)
      out[t] = rows.map((r) => r.r as string)
    } else {
      const cs = await w.query(
        'select column_name as c from information_schema.columns where table_schema = database() and table_name = $1 order by ordinal_position',
        [t],
      )
      const expr = cs
        .map((c) => `coalesce(hex(cast(\`${c.c}\` as char character set utf8mb4)), 'NULL')`)
        .join(", '|', ")
      const rows = await w.query(`select concat(${expr}) as r from \`${t}\``)
      out[t] = rows.map((r) => String(r.r)).sort()
    }
  }
  return out
}

/**
 * Bulk rows in one INSERT … SELECT over the integers 1..count (alias g; PostgreSQL generate_series, MySQL/MariaDB a
 * cross join of digits): every NOT NULL column without a default gets a value of its type; `set` gives SQL
 * expressions (may use g; `loadSql(w.dialect)` has the dialect's spellings) for the columns that matter.
 */
export async function bulkInsert(
  w: RetentionWorld,
  table: string,
  count: number,
  set: Record<string, string>,
): Promise<void> {
  const my = w.dialect === 'mysql'
  const cs = await w.query(
    `select column_name as c, data_type as t, is_nullable as n, column_default as d from information_schema.columns where table_schema = ${my ? 'database()' : 'current_schema()'} and table_name = $1`,
    [table],
  )
  const cols: string[] = []
  const exprs: string[] = []
  for (const c of cs) {
    let e = set[c.c]
    if (e === undefined) {
      if (c.n === 'YES' || c.d !== null) continue
      e =
        c.t === 'uuid' || (my && c.t === 'char')
          ? my
            ? 'uuid()'
            : 'gen_random_uuid()'
          : /char|text/.test(c.t)
            ? my
              ? `'{}'` // MariaDB keeps JSON in LONGTEXT with a json_valid check
              : `'x'`
            : /int|numeric|decimal|double|real|float/.test(c.t)
              ? '0'
              : c.t === 'boolean'
                ? 'false'
                : /timestamp|datetime/.test(c.t)
                  ? loadSql(w.dialect).now
                  : `'{}'`
    }
    cols.push(`"${c.c}"`)
    exprs.push(e)
  }
  let series = `generate_series(1, ${count}) g`
  if (my) {
    const digits =
      '(select 0 d union all select 1 union all select 2 union all select 3 union all select 4 union all select 5 union all select 6 union all select 7 union all select 8 union all select 9)'
    const n = String(Math.max(count - 1, 1)).length
    const parts = Array.from({ length: n }, (_, i) => `d${i}.d * ${10 ** i}`)
    const from = Array.from({ length: n }, (_, i) => `${digits} d${i}`).join(' cross join ')
    series = `(select 1 + ${parts.join(' + ')} as g from ${from}) s where g <= ${count}`
  }
  await w.query(`insert into "${table}" (${cols.join(', ')}) select ${exprs.join(', ')} from ${series}`)
}

/** The SQL spellings the bulk seeds and the load tests need, per dialect (UTC timestamps as Dify writes them). */
export function loadSql(dialect: 'postgres' | 'mysql') {
  return dialect === 'postgres'
    ? {
        now: `now() at time zone 'utc'`,
        daysAgo: (days: number) => `now() at time zone 'utc' - interval '${days} days'`,
        plusSeconds: (ts: string, e: string) => `${ts} + (${e}) * interval '1 second'`,
        /** a uuid of the fixed prefix (24 characters) and the number e */
        id: (prefix: string, e: string) => `('${prefix}' || lpad((${e})::text, 12, '0'))::uuid`,
        idLike: (col: string, prefix: string) => `${col}::text like '${prefix}%'`,
        div: (a: string, b: number) => `(${a}) / ${b}`,
      }
    : {
        now: 'utc_timestamp()',
        daysAgo: (days: number) => `utc_timestamp() - interval ${days} day`,
        plusSeconds: (ts: string, e: string) => `${ts} + interval (${e}) second`,
        id: (prefix: string, e: string) => `concat('${prefix}', lpad(${e}, 12, '0'))`,
        idLike: (col: string, prefix: string) => `${col} like '${prefix}%'`,
        div: (a: string, b: number) => `(${a}) div ${b}`,
      }
}

/** A `beforeDelete` hook that fails at batch `n` (after its archive is written, before its delete commits). */
export function crashAtBatch(n: number): () => Promise<void> {
  let calls = 0
  return async () => {
    if (++calls === n) throw new Error('simulated crash')
  }
}
